/*
 * STAMP: licence stamp on a BIOM table (per-sample columns, embedded x-sharing-stamp, signed
 * DSSE sidecar), verified (D rules) before it is published. The signing key is staged as a
 * link in the task folder and never written to any output.
 */
process STAMP {
    label 'process_single'
    publishDir "${params.outdir}/biom", mode: params.publish_dir_mode,
        saveAs: { fn -> fn.startsWith('stamped/') ? fn - 'stamped/' : null }

    input:
    path biom, stageAs: 'unstamped/*'
    path agreement
    val key

    output:
    path "stamped/${biom.name}", emit: biom
    path "stamped/${biom.name}.sharing.dsse.json", emit: sidecar
    path "${biom.baseName}.verify.json", emit: verification

    script:
    """
    soilbiome stamp ${biom} --agreement ${agreement} --key '${key}' \\
        --run-id '${workflow.runName}' -o stamped/${biom.name}
    soilbiome verify stamped/${biom.name} --agreement ${agreement} --json > ${biom.baseName}.verify.json
    """
}
