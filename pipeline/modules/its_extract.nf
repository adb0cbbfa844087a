/*
 * ITS_EXTRACT: ITS amplicons only. The denoised ASVs are cut to their ITS region with
 * ITSxpress (HMMER against ITSx's profiles); ASVs with the same ITS sequence are summed, those
 * with no region found go to their own table and are counted per sample (docs/dada2.md).
 */
process ITS_EXTRACT {
    label 'process_low'
    publishDir "${params.outdir}", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' ? null : fn }

    input:
    path counts
    val marker

    output:
    path 'its/asv_counts.tsv', emit: counts
    path 'its/asv.fasta', emit: fasta
    path 'its', emit: dir
    path 'versions.yml', emit: versions

    script:
    """
    soilbiome its --counts ${counts} --outdir its --region '${params.its_region}' \\
        --marker '${marker}' --primer-fwd '${params.primer_fwd ?: ''}' \\
        --primer-rev '${params.primer_rev ?: ''}' --taxa '${params.its_taxa}' --threads ${task.cpus}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        itsxpress: \$(python -c "import importlib.metadata as m; print(m.version('itsxpress'))")
        hmmer: \$(hmmsearch -h | sed -n 's/^# HMMER \\([0-9.a-z]*\\).*/\\1/p')
    END_VERSIONS
    """
}
