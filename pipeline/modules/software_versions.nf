/*
 * SOFTWARE_VERSIONS: the versions of every tool of the run, collected into one file:
 * pipeline_info/software_versions.yml. (REPORT collects those of the tools that made its table
 * itself, with the same code, so that it waits for no task of this kind.)
 */
process SOFTWARE_VERSIONS {
    label 'process_single'
    publishDir "${params.outdir}/pipeline_info", mode: params.publish_dir_mode

    input:
    path versions, stageAs: 'versions/versions_??.yml'

    output:
    path 'software_versions.yml', emit: yml

    script:
    """
    soilbiome collect-versions versions/*.yml --nextflow ${workflow.nextflow.version} \\
        --pipeline ${workflow.manifest.version} --out software_versions.yml
    """
}
