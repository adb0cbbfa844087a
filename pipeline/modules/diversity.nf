/*
 * DIVERSITY: alpha and beta diversity, rarefaction and PCoA on the ASV table; with a tree also
 * Faith's PD and weighted / unweighted UniFrac.
 */
process DIVERSITY {
    // one core: a batch's table takes seconds (40 samples: 2 s), and the other core runs
    // INTEROP's R start-up beside it; the compiled kernels use task.cpus threads
    label 'process_single'
    publishDir "${params.outdir}", mode: params.publish_dir_mode

    input:
    path biom
    path tree          // Newick tree of the ASVs, or assets/NO_TREE: only says whether one was
                       // built; the tree itself is read from the table (/soilbiome/phylogeny)

    output:
    path 'diversity', emit: dir

    script:
    def depth = params.rarefaction_depth ? "--rarefaction-depth ${params.rarefaction_depth}" : '--no-rarefaction'
    def group = params.group_by ? "--group-by ${params.group_by}" : ''
    def env = params.soil_env ? "--env '${params.soil_env}'" : ''
    def tree_arg = tree.name != 'NO_TREE' ? "--unifrac --branch-lengths ${params.branch_lengths}" : ''   // a table that lost its tree fails
    """
    export NUMBA_NUM_THREADS=${task.cpus}
    soilbiome diversity ${biom} --outdir diversity ${depth} --seed ${params.seed} ${group} \\
        --shannon-base ${params.shannon_base} ${env} ${tree_arg}
    """
}
