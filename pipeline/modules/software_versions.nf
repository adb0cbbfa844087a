/*
 * SOFTWARE_VERSIONS: the versions of the tools given, collected into one file. With `publish`,
 * every tool of the run: pipeline_info/software_versions.yml. Without, a subset for a step
 * that should not wait for the others (the amplicon report, for the tools that made its table).
 */
process SOFTWARE_VERSIONS {
    label 'process_single'
    publishDir "${params.outdir}/pipeline_info", mode: params.publish_dir_mode,
        saveAs: { fn -> publish ? fn : null }

    input:
    val publish
    path versions, stageAs: 'versions/versions_??.yml'

    output:
    path 'software_versions.yml', emit: yml

    script:
    """
    soilbiome collect-versions versions/*.yml --nextflow ${workflow.nextflow.version} \\
        --pipeline ${workflow.manifest.version} --out software_versions.yml
    """
}
