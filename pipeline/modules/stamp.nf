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
    path "stamped/*.biom", emit: biom
    path "stamped/*.biom.sharing.dsse.json", emit: sidecar
    path "*.verify.json", emit: verification

    script:
    // the same name as the table given (asv_table.biom, taxon_table.biom)
    def name = biom.toString().tokenize('/')[-1]
    def stem = name.replaceAll(/\.biom$/, '')
    """
    soilbiome stamp ${biom} --agreement ${agreement} --key '${key}' \\
        --run-id '${workflow.runName}' --run-crate ../ro-crate-metadata.json \\
        -o stamped/${name}
    # exit 5 = OK with rules undecided: D7/D9 wait for the run crate written at the end
    soilbiome verify stamped/${name} --agreement ${agreement} --json \\
        > ${stem}.verify.json || [ \$? -eq 5 ]
    """
}
