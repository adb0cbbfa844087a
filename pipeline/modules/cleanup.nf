/*
 * CLEANUP: non-target ASVs (16S chloroplast / mitochondria, by lineage) moved to their own
 * table and reported per sample; contaminant ASVs flagged by their prevalence in negative
 * controls (sample_type negative_control), removed only with --remove_contaminants.
 */
process CLEANUP {
    label 'process_single'
    publishDir "${params.outdir}", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'cleanup' ? fn : null }

    input:
    path counts
    path lineage
    path samplesheet
    val marker

    output:
    path 'cleanup/asv_counts.tsv', emit: counts
    path 'cleanup', emit: dir

    script:
    def remove = params.remove_contaminants ? '--remove-contaminants' : ''
    """
    soilbiome cleanup --counts ${counts} --lineage ${lineage} --samplesheet ${samplesheet} \\
        --outdir cleanup --marker '${marker}' --contaminant-threshold ${params.contaminant_threshold} ${remove}
    """
}
