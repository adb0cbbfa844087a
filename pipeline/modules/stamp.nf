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
    soilbiome stamp ${biom} --agreement ${agreement} --key '${key}' \\
        --run-id '${workflow.runName}' --run-crate ../ro-crate-metadata.json \\
        -o stamped/${name}
    # exit 5 = OK with rules undecided: D7/D9 wait for the run crate written at the end.
    # A failed verification shows its findings in the task's error output, not only in the JSON
    rc=0
    soilbiome verify stamped/${name} --agreement ${agreement} --json > ${stem}.verify.json || rc=\$?
    if [ \$rc -ne 0 ] && [ \$rc -ne 5 ]; then
        soilbiome verify stamped/${name} --agreement ${agreement} >&2 || true
        exit 1
    fi
    """
}
