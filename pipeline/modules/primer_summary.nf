/*
 * PRIMER_SUMMARY: per-sample share of reads that carried the primers; flags low ones.
 */
process PRIMER_SUMMARY {
    label 'process_single'
    publishDir "${params.outdir}/primers", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' ? null : fn }

    input:
    path reports

    output:
    path 'primer_summary.tsv', emit: tsv

    script:
    """
    soilbiome primer-summary ${reports} --min-fraction ${params.primer_min_fraction} --out primer_summary.tsv
    """
}
