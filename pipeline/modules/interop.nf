/*
 * INTEROP: the table for QIIME 2 (taxonomy.tsv, dna-sequences.fasta) and R/phyloseq
 * (phyloseq.rds, made with R's phyloseq), as nf-core/ampliseq offers.
 */
process INTEROP {
    label 'process_single'
    publishDir "${params.outdir}", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' ? null : fn }

    input:
    path biom

    output:
    path 'qiime2/taxonomy.tsv', emit: taxonomy
    path 'qiime2/dna-sequences.fasta', emit: fasta
    path 'phyloseq/phyloseq.rds', emit: rds
    path 'versions.yml', emit: versions

    script:
    """
    # side by side: the phyloseq export waits on R's start-up most of the time
    soilbiome export qiime2 ${biom} --out qiime2 &
    qiime2_pid=\$!
    soilbiome export phyloseq ${biom} --out phyloseq/phyloseq.rds
    wait \$qiime2_pid
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        phyloseq: \$(Rscript -e 'cat(as.character(packageVersion("phyloseq")))')
    END_VERSIONS
    """
}
