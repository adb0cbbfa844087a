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
    # one read of the table for both exports: the QIIME 2 files are written while R loads
    # phyloseq; the version is asked for meanwhile (this is the amplicon run's last task)
    Rscript -e 'cat(as.character(packageVersion("phyloseq")))' > phyloseq.version &
    version_pid=\$!
    soilbiome export interop ${biom} --outdir .
    wait \$version_pid
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        phyloseq: \$(cat phyloseq.version)
    END_VERSIONS
    """
}
