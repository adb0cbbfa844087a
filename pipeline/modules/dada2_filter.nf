/*
 * DADA2_FILTER: filterAndTrim for one chunk of samples of one sequencing run (step 1 of the
 * split DADA2, docs/dada2.md). Samples without reads are tracked with zeros and get no file.
 */
process DADA2_FILTER {
    tag "${chunk.id}"
    label 'process_low'

    input:
    tuple val(chunk), val(single_end), path(reads, stageAs: 'reads??/*')

    output:
    tuple val(chunk), path('filtered'), emit: filtered
    path 'filter_tracking.tsv', emit: tracking

    script:
    def files = reads instanceof List ? reads : [reads]  // one staged file is a Path
    def lines = []
    def k = 0
    chunk.ids.eachWithIndex { id, i ->
        def r1 = files[k++]
        def r2 = single_end[i] ? '' : files[k++]
        lines << "${id}\t${r1}\t${r2}"
    }
    """
    printf 'sample\\tfastq_1\\tfastq_2\\n${lines.join('\\n')}\\n' > samples.tsv
    mkdir -p filtered
    dada2_filter.R --samples samples.tsv --threads ${task.cpus} \\
        --trunc-len-f ${params.dada2_trunc_len_f} --trunc-len-r ${params.dada2_trunc_len_r} \\
        --max-ee-f ${params.dada2_max_ee_f} --max-ee-r ${params.dada2_max_ee_r} \\
        --trunc-q ${params.dada2_trunc_q} --min-len ${params.dada2_min_len}
    """
}
