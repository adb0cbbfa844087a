/*
 * QC_SUMMARY: one table of per-sample QC records; every sample of the sheet must be there.
 */
process QC_SUMMARY {
    label 'process_single'
    publishDir "${params.outdir}/qc", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' ? null : fn }

    input:
    path records
    path samplesheet

    output:
    path 'qc_summary.tsv', emit: tsv
    path 'qc_summary.json', emit: json
    path 'versions.yml', emit: versions

    script:
    """
    soilbiome qc-summary ${records} --samplesheet ${samplesheet} --out qc_summary.tsv

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        soilbiome: \$(soilbiome --version | sed 's/.*version //')
    END_VERSIONS
    """
}
