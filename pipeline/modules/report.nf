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
    path versions, stageAs: 'versions/versions_??.yml'  // per-process versions.yml, collected
                         // by the report itself (no task of its own before it)
    path params_json     // pipeline_info/params.json (checked at start-up)
    path refdb_json      // pipeline_info/reference_database.json
    path verification    // soilbiome verify --json of the stamped table, or NO_FILE
    path cleanup         // folder of 'soilbiome cleanup', or assets/NO_CLEANUP
    path others, stageAs: 'others/*'  // shotgun: the other profiler's table, or NO_FILE

    output:
    path 'soilbiome_report.html', emit: html

    script:
    def primer_arg = primers.name != 'NO_PRIMERS' ? "--primers ${primers}" : ''
    def group = params.group_by ? "--group-by ${params.group_by}" : ''
    def verify_arg = verification.name != 'NO_FILE' ? "--verification ${verification}" : ''
    def cleanup_arg = cleanup.name != 'NO_CLEANUP' ? "--cleanup ${cleanup}" : ''
    def others_arg = (others instanceof List ? others : [others]).findAll { !it.toString().endsWith('NO_FILE') }.collect { "--also-biom ${it}" }.join(' ')
    def version_args = (versions instanceof List ? versions : [versions]).collect { "--process-versions ${it}" }.join(' ')
    def batch = (params.batch_name ?: file(params.input as String).baseName).toString()
    """
    soilbiome report --biom ${biom} --diversity ${diversity} --qc ${qc} --tracking ${tracking} \\
        ${primer_arg} ${version_args} --nextflow-version ${workflow.nextflow.version} \\
        --pipeline-version ${workflow.manifest.version} ${cleanup_arg} --rank ${params.report_rank} ${group} \\
        --params ${params_json} --refdb ${refdb_json} ${verify_arg} ${others_arg} \\
        --batch-name '${batch.replace("'", "'\\''")}' --out soilbiome_report.html
    """
}
