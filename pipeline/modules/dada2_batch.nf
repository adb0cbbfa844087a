/*
 * DADA2_BATCH: the whole batch in ONE R process (bin/dada2_single.R: filterAndTrim, per run
 * learnErrors, dada + mergePairs, removeBimeraDenovo), used when every sequencing run of the
 * batch fits in one chunk (docs/dada2.md#chunks): on a machine where chunk tasks could not run
 * side by side anyway, the split steps would only add R start-ups. Same outputs as DADA2_MERGE.
 * Every thread of the R process works on every step (filterAndTrim per file, dada and
 * removeBimeraDenovo multithreaded), so the task's cores are all used.
 */
process DADA2_BATCH {
    tag "${batch.ids.size()} samples"
    label 'process_medium'
    publishDir "${params.outdir}/dada2", mode: params.publish_dir_mode,
        saveAs: { fn -> fn in ['asv_counts.tsv', 'asv.fasta', 'read_tracking.tsv'] ? fn : null }

    input:
    tuple val(batch), path(reads, stageAs: 'reads*/*')

    output:
    path 'asv_counts.tsv', emit: counts
    path 'asv.fasta', emit: fasta
    path 'read_tracking.tsv', emit: tracking
    path 'versions.yml', emit: versions

    script:
    def files = reads instanceof List ? reads : [reads]  // one staged file is a Path
    def lines = []
    def k = 0
    batch.ids.eachWithIndex { id, i ->
        def r1 = files[k++]
        def r2 = batch.single_end[i] ? '' : files[k++]
        lines << "${id}\t${r1}\t${r2}\t${batch.runs[i]}"
    }
    """
    printf 'sample\\tfastq_1\\tfastq_2\\trun\\n${lines.join('\\n')}\\n' > samples.tsv
    dada2_single.R --samples samples.tsv --threads ${task.cpus} --seed ${params.seed} \\
        --pool ${params.dada2_pool} --min-overlap ${params.dada2_min_overlap} \\
        --trunc-len-f ${params.dada2_trunc_len_f} --trunc-len-r ${params.dada2_trunc_len_r} \\
        --max-ee-f ${params.dada2_max_ee_f} --max-ee-r ${params.dada2_max_ee_r} \\
        --trunc-q ${params.dada2_trunc_q} --min-len ${params.dada2_min_len}
    rm -rf filtered

    cat <<-END_VERSIONS > versions.yml
    "${task.process}":
        R: \$(Rscript -e 'cat(as.character(getRversion()))')
        dada2: \$(Rscript -e 'cat(as.character(packageVersion("dada2")))')
    END_VERSIONS
    """
}
