/*
 * DADA2_MERGE: one task per batch: merge the sequence tables, remove chimeras, write the ASV
 * counts, sequences and the read-tracking table (every sample, zeros where reads ran out).
 */
process DADA2_MERGE {
    label 'process_low'
    publishDir "${params.outdir}/dada2", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' ? null : fn }

    input:
    path tracking, stageAs: 'tracking/filter_tracking_*.tsv'
    path denoised, stageAs: 'denoised/denoised_*.rds'

    output:
    path 'asv_counts.tsv', emit: counts
    path 'asv.fasta', emit: fasta
    path 'read_tracking.tsv', emit: tracking
    path 'versions.yml', emit: versions

    script:
    def tsvs = (tracking instanceof List ? tracking : [tracking]).join(',')
    def rds = (denoised instanceof List ? denoised : [denoised]).join(',')
    """
    dada2_merge.R --tracking ${tsvs} --denoised ${rds} --threads ${task.cpus}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        R: \$(Rscript -e 'cat(as.character(getRversion()))')
        dada2: \$(Rscript -e 'cat(as.character(packageVersion("dada2")))')
    END_VERSIONS
    """
}
