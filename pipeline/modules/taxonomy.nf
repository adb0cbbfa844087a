/*
 * Taxonomic assignment of the ASVs: vsearch SINTAX or DADA2 assignTaxonomy, chosen by the
 * reference database's format; then one harmonised lineage table whatever the classifier.
 */
process VSEARCH_SINTAX {
    label 'process_low'

    input:
    path fasta
    tuple val(db), path(reference)

    output:
    path 'sintax.tsv', emit: raw
    path 'versions.yml', emit: versions

    script:
    """
    vsearch --sintax ${fasta} --db ${reference} --tabbedout sintax.tsv --strand both \\
        --sintax_cutoff ${params.taxonomy_min_confidence ?: 0.8} --randseed ${params.seed} --threads 1

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        vsearch: \$(vsearch --version 2>&1 | head -n 1 | sed 's/^vsearch v//; s/_.*//')
    END_VERSIONS
    """
}

process DADA2_TAXONOMY {
    label 'process_low'

    input:
    path fasta
    tuple val(db), path(reference)

    output:
    path 'assign_taxonomy.tsv', emit: raw
    path 'versions.yml', emit: versions

    script:
    """
    dada2_taxonomy.R ${fasta} ${reference} assign_taxonomy.tsv ${task.cpus} ${params.seed}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        dada2: \$(Rscript -e 'cat(as.character(packageVersion("dada2")))')
    END_VERSIONS
    """
}

process HARMONISE_TAXONOMY {
    label 'process_single'
    publishDir "${params.outdir}/taxonomy", mode: params.publish_dir_mode

    input:
    path raw
    val db

    output:
    path 'lineage.tsv', emit: lineage

    script:
    def cutoff = params.taxonomy_min_confidence ?: (db.format == 'dada2' ? 0.5 : 0.8)
    """
    soilbiome taxonomy harmonise --format ${db.format} --input ${raw} --min-confidence ${cutoff} \\
        --reference-name '${"${db.name} ${db.version}".toString().replace("'", "'\\''")}' --out lineage.tsv
    """
}
