/*
 * REPORT: one self-contained HTML report for the batch (plotly, opens offline).
 */
process REPORT {
    label 'process_single'
    publishDir "${params.outdir}", mode: params.publish_dir_mode

    input:
    path biom
    path diversity
    path qc
    path tracking
    path primers
    path versions

    output:
    path 'soilbiome_report.html', emit: html

    script:
    def primer_arg = primers.name != 'NO_PRIMERS' ? "--primers ${primers}" : ''
    def group = params.group_by ? "--group-by ${params.group_by}" : ''
    """
    soilbiome report --biom ${biom} --diversity ${diversity} --qc ${qc} --tracking ${tracking} \\
        ${primer_arg} --versions ${versions} --rank ${params.report_rank} ${group} \\
        --title 'soilbiome ${workflow.runName}' --out soilbiome_report.html
    """
}
