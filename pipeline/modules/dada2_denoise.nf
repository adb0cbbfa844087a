/*
 * DADA2_DENOISE: one batch (error models are learnt across samples): filter, learn errors,
 * denoise, merge pairs, remove chimeras. Empty samples stay in the tables with zeros.
 */
process DADA2_DENOISE {
    label 'process_medium'
    publishDir "${params.outdir}/dada2", mode: params.publish_dir_mode,
        saveAs: { fn -> fn == 'versions.yml' || fn == 'samples.tsv' ? null : fn }

    input:
    tuple val(ids), val(single_end), path(reads, stageAs: 'reads??/*')

    output:
    path 'asv_counts.tsv', emit: counts
    path 'asv.fasta', emit: fasta
    path 'read_tracking.tsv', emit: tracking
    path 'versions.yml', emit: versions

    script:
    def lines = []
    def k = 0
    def files = reads instanceof List ? reads : [reads]  // one staged file is a Path
    ids.eachWithIndex { id, i ->
        def r1 = files[k++]
        def r2 = single_end[i] ? '' : files[k++]
        lines << "${id}\t${r1}\t${r2}"
    }
    """
    printf 'sample\\tfastq_1\\tfastq_2\\n${lines.join('\\n')}\\n' > samples.tsv
    dada2_denoise.R --samples samples.tsv --threads ${task.cpus} --seed ${params.seed} \\
        --trunc-len-f ${params.dada2_trunc_len_f} --trunc-len-r ${params.dada2_trunc_len_r} \\
        --max-ee-f ${params.dada2_max_ee_f} --max-ee-r ${params.dada2_max_ee_r} \\
        --trunc-q ${params.dada2_trunc_q} --min-len ${params.dada2_min_len} \\
        --min-overlap ${params.dada2_min_overlap} --pool ${params.dada2_pool}

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        R: \$(Rscript -e 'cat(as.character(getRversion()))')
        dada2: \$(Rscript -e 'cat(as.character(packageVersion("dada2")))')
    END_VERSIONS
    """
}
