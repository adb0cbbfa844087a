/*
 * Distance matrices of the merged table in blocks: BETA_PLAN cuts the samples into
 * --beta_blocks row ranges, BETA_BLOCK computes one block per task (local or SLURM), and
 * BETA_ASSEMBLE writes them into an HDF5 matrix on disk one block at a time (never the whole
 * matrix in memory) and streams it to the lsmat TSV. --settings makes every task prepare the
 * table exactly as the single-process run did (same rarefaction depth and seed), so the
 * assembled matrix equals it bit for bit. Every block records the table's SHA-256, the metric
 * and its ranges; BETA_ASSEMBLE refuses blocks that do not match the table, metric and plan.
 * UniFrac metrics take the Newick tree `tree` (--compare_tree; assets/NO_TREE otherwise, when
 * only Bray-Curtis and Jaccard are asked for); their blocks record the tree's SHA-256 and the
 * precision its branch lengths were read in (--branch_lengths).
 */
process BETA_PLAN {
    label 'process_single'

    input:
    path table
    path settings

    output:
    path 'plan.csv', emit: plan

    script:
    """
    soilbiome beta plan ${table} --settings ${settings} --blocks ${params.beta_blocks} --out plan.csv
    """
}

process BETA_BLOCK {
    label 'process_single'
    tag "${metric} ${block}"

    input:
    path table
    path settings
    path tree
    tuple val(metric), val(block), val(rows), val(cols)

    output:
    tuple val(metric), path("${metric}_${block}.npz"), emit: block

    script:
    def tree_arg = metric.endsWith('unifrac') ? "--tree ${tree} --branch-lengths ${params.branch_lengths}" : ''
    """
    soilbiome beta block ${table} --settings ${settings} --metric ${metric} \\
        --rows ${rows} --cols ${cols} ${tree_arg} --out ${metric}_${block}.npz
    """
}

process BETA_ASSEMBLE {
    label 'process_single'
    tag "${metric}"
    publishDir "${params.outdir}/compare/distributed", mode: params.publish_dir_mode

    input:
    path table
    path settings
    path plan
    path tree
    tuple val(metric), path(blocks)

    output:
    path "beta_${metric}.h5", emit: h5
    path "beta_${metric}.tsv", emit: tsv

    script:
    def tree_arg = metric.endsWith('unifrac') ? "--tree ${tree} --branch-lengths ${params.branch_lengths}" : ''
    """
    soilbiome beta assemble ${table} ${blocks} --settings ${settings} --metric ${metric} \\
        --plan ${plan} ${tree_arg} --out beta_${metric}.h5 --tsv beta_${metric}.tsv
    """
}
