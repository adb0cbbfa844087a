/*
 * COMPARE_TABLES: `soilbiome compare` on the stamped tables of the sheet (verification, terms,
 * harmonised merged table stamped and signed by the comparer, every index, TSVs, report).
 * Each table's sidecar is staged beside it; agreements are matched to stamps by SHA-256.
 */
process COMPARE_TABLES {
    label 'process_low'
    publishDir "${params.outdir}", mode: params.publish_dir_mode

    input:
    path tables, stageAs: 'inputs/*'
    path sidecars, stageAs: 'inputs/*'
    path agreements, stageAs: 'agreements/*'
    val key

    output:
    path 'compare', emit: dir
    path 'compare/merged.biom', emit: merged
    path 'compare/diversity/diversity.json', emit: settings

    script:
    def ags = agreements.collect { "--agreement ${it}" }.join(' ')
    def depth = params.rarefaction_depth ? "--rarefaction-depth ${params.rarefaction_depth}" : ''
    def today = params.today ? "--today ${params.today}" : ''
    def unverified = params.allow_unverified ? '--allow-unverified' : ''
    def keyArg = key == 'throwaway' ? 'throwaway.key' : key
    def makeKey = key == 'throwaway' ? 'soilbiome keys generate throwaway.key > /dev/null' : ''
    """
    ${makeKey}
    soilbiome compare ${tables} ${ags} --group ${params.group_by} --rank ${params.compare_rank} \\
        ${depth} --seed ${params.seed} --key '${keyArg}' ${unverified} ${today} --out compare
    """
}
