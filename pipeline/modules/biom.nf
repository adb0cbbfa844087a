/*
 * BUILD_BIOM: counts + harmonised lineage + MIxS sample metadata -> BIOM 2.1 (HDF5), validated
 * with biom-format's validator and our own checks before it is published.
 */
process BUILD_BIOM {
    label 'process_single'
    // published here only when there is no agreement; otherwise STAMP publishes the stamped copy
    publishDir "${params.outdir}/biom", mode: params.publish_dir_mode, enabled: !params.agreement,
        pattern: '*.biom'
    // the tree as stored in the table: PHYLOGENY's tree cut to the ASVs the clean-up kept
    publishDir "${params.outdir}/phylogeny", mode: params.publish_dir_mode, pattern: 'tree.nwk'

    input:
    path counts
    path lineage
    path samplesheet
    path tree, stageAs: 'phylogeny/*'  // Newick tree of every DADA2 ASV (cut here to the
                       // counted ones: tree.nwk), or
                       // assets/NO_TREE
    val context        // processing context (map): marker, region, primers, truncation, ...
    path versions, stageAs: 'versions/versions*.yml'  // of DADA2 and the classifier

    output:
    path 'asv_table.biom', emit: biom
    path 'tree.nwk', emit: tree, optional: true

    script:
    // staged under phylogeny/, whose name Nextflow then gives as 'phylogeny/NO_TREE'
    def tree_arg = !tree.toString().endsWith('NO_TREE') ? "--tree ${tree} --prune-tree --tree-out tree.nwk" : ''
    def context_json = groovy.json.JsonOutput.toJson(context).replace("'", "'\\''")  // shell-quoted
    """
    printf '%s\\n' '${context_json}' > processing_context.json
    soilbiome biom build --counts ${counts} --lineage ${lineage} --samplesheet ${samplesheet} \\
        --table-id '${workflow.runName}' ${tree_arg} --context processing_context.json \\
        ${versions.collect { "--versions ${it}" }.join(' ')} --out asv_table.biom --validate
    """
}
