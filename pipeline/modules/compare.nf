/*
 * COMPARE_TABLES: `soilbiome compare` on the stamped tables of the sheet (verification, terms,
 * harmonised merged table stamped and signed by the comparer, every index, TSVs, report).
 * Each table's sidecar is staged beside it; agreements are matched to stamps by SHA-256.
 */
process COMPARE_TABLES {
    label 'process_low'
    publishDir "${params.outdir}", mode: params.publish_dir_mode

    input:
    val labels                                       // name of each input in every output
    path tables, stageAs: 'inputs/t???/*'            // one folder per input: file names may repeat
    path sidecars, stageAs: 'inputs/t???/*'          // each beside its table (same numbering)
    path agreements, stageAs: 'agreements/a???/*'
    val key

    output:
    path 'compare', emit: dir
    path 'compare/merged.biom', emit: merged
    path 'compare/diversity/diversity.json', emit: settings

    script:
    def ags = (agreements instanceof List ? agreements : [agreements]).collect { "--agreement ${it}" }.join(' ')
    def tableArgs = (tables instanceof List ? tables : [tables]).join(' ')
    def labelArgs = labels.collect { "--label '${it.toString().replace("'", "'\\''")}'" }.join(' ')  // shell-quoted
    def depth = params.rarefaction_depth ? "--rarefaction-depth ${params.rarefaction_depth}" : ''
    def today = params.today ? "--today ${params.today}" : ''
    def rank = params.compare_rank ? "--rank ${params.compare_rank}" : ''
    def unverified = params.allow_unverified ? '--allow-unverified' : ''
    def keyArg = key == 'throwaway' ? 'throwaway.key' : key
    def makeKey = key == 'throwaway' ? 'soilbiome keys generate throwaway.key > /dev/null' : ''
    """
    ${makeKey}
    soilbiome compare ${tableArgs} ${labelArgs} ${ags} --group ${params.group_by} ${rank} \\
        ${depth} --seed ${params.seed} --key '${keyArg}' ${unverified} ${today} --out compare
    """
}
