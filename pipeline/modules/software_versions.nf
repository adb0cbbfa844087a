/*
 * SOFTWARE_VERSIONS: the versions of every tool used in this run, collected once.
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
