/*
 * MULTIQC: one MultiQC report of the batch: fastp (per-sample QC), cutadapt (primer removal),
 * the DADA2 read tracking and the clean-up's non-target reads per sample as custom content.
 * It starts once the clean-up is done, so it runs on one core beside the ASV tree instead of
 * holding that core while the next step of the table waits for both.
 */
process MULTIQC {
    label 'process_single'
    publishDir "${params.outdir}/multiqc", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' ? null : fn }

    input:
    path fastp_json, stageAs: 'fastp/*'
    path cutadapt_logs, stageAs: 'cutadapt/*'
    path tracking
    path nontarget, stageAs: 'cleanup/nontarget_summary.tsv'  // of 'soilbiome cleanup'

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
    {
        echo "# id: 'soilbiome_nontarget'"
        echo "# section_name: 'Non-target reads'"
        echo "# description: 'Chloroplast and mitochondria reads per sample, moved out of the published table by the clean-up (cleanup/nontarget_summary.tsv).'"
        echo "# plot_type: 'table'"
        cat ${nontarget}
    } > nontarget_mqc.tsv
    export MPLCONFIGDIR=\$PWD/.mpl
    multiqc --force --no-version-check --title 'soilbiome QC' --filename multiqc_report.html \\
        --comment 'fastp, cutadapt, DADA2 read tracking and non-target reads of this batch' .
    # the version the report was made with, as its data file records it (asking `multiqc
    # --version` costs a second start of MultiQC, 1.6 s of CPU while the table's steps wait)
    version=\$(sed -n 's/.*"config_version": *"\\([^"]*\\)".*/\\1/p' multiqc_report_data/multiqc_data.json | head -1)
    [ -n "\$version" ] || version=\$(multiqc --version | sed 's/.* //')
    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        multiqc: \$version
    END_VERSIONS
    """
}
