/*
 * MULTIQC: one MultiQC report of the batch: fastp (per-sample QC), cutadapt (primer removal)
 * and the DADA2 read tracking as custom content.
 */
process MULTIQC {
    label 'process_single'
    publishDir "${params.outdir}/multiqc", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' ? null : fn }

    input:
    path fastp_json, stageAs: 'fastp/*'
    path cutadapt_logs, stageAs: 'cutadapt/*'
    path tracking

    output:
    path 'multiqc_report.html', emit: html
    path 'multiqc_report_data', emit: data
    path 'versions.yml', emit: versions

    script:
    """
    {
        echo "# id: 'dada2_read_tracking'"
        echo "# section_name: 'DADA2 read tracking'"
        echo "# description: 'Reads left after each DADA2 step (filterAndTrim, denoising, merging, chimera removal), from read_tracking.tsv.'"
        echo "# plot_type: 'table'"
        cat ${tracking}
    } > read_tracking_mqc.tsv
    export MPLCONFIGDIR=\$PWD/.mpl
    multiqc --force --no-version-check --title 'soilbiome QC' --filename multiqc_report.html \\
        --comment 'fastp, cutadapt and DADA2 read tracking of this batch' .
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        multiqc: \$(multiqc --version | sed 's/.* //')
    END_VERSIONS
    """
}
