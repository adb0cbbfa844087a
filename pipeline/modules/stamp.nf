/*
 * STAMP: licence stamp on a BIOM table (per-sample columns, embedded x-sharing-stamp, signed
 * DSSE sidecar), verified (D rules) before it is published. The signing key is staged as a
 * link in the task folder and never written to any output.
 */
process STAMP {
    label 'process_single'
    // no publishDir: main.nf copies the stamped table and its sidecar into --outdir last, and
    // only when the whole run succeeded (publishOnSuccess)

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
    # then verified in the same process, --before-publication: D7/D9 compare the table with the
    # run crate written at the very end (it describes the report too), so here they are "after
    # publication"; the report names the command that decides them on the published results.
    # A rule that needs a person passes; a failed one ends the task with the findings
    soilbiome stamp ${biom} --agreement ${agreement} --key '${key}' \\
        --run-id '${workflow.runName}' --run-crate ../ro-crate-metadata.json \\
        -o stamped/${name} --verify-json ${stem}.verify.json
    """
}
