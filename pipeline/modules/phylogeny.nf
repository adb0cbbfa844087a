/*
 * PHYLOGENY: every DADA2 ASV aligned (MAFFT), masked and a tree built (FastTree) as QIIME 2's
 * align-to-tree-mafft-fasttree does, rooted at its midpoint, while taxonomy and clean-up run;
 * BUILD_BIOM cuts it to the ASVs the clean-up kept, stores it in the BIOM and publishes it
 * (phylogeny/tree.nwk). It feeds UniFrac and Faith's PD.
 */
process PHYLOGENY {
    // one core: FastTree is single-threaded, and MAFFT with 2 threads aligned 457 ASVs
    // no faster (FastTreeMP: a different tree, 7x the CPU)
    label 'process_single'

    input:
    path counts

    output:
    path 'tree.nwk', emit: tree, optional: true
    path 'versions.yml', emit: versions

    script:
    """
    soilbiome phylogeny --counts ${counts} --out tree.nwk --threads ${task.cpus}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        mafft: \$(mafft --version 2>&1 | sed -n 's/^v\\([0-9.]*\\).*/\\1/p')
        fasttree: \$(FastTree 2>&1 | sed -n 's/^FastTree Version \\([0-9.]*\\).*/\\1/p' | head -1)
    END_VERSIONS
    """
}
