/*
 * DADA2_DENOISE: dada() and mergePairs for one chunk of a run's samples with the run's error
 * model (the second pass when pseudo-pooling); with --dada2_pool true, one task per run.
 */
process DADA2_DENOISE {
    tag "${chunk.id}"
    label 'process_low'

    input:
    tuple val(chunk), path(filtered, stageAs: 'chunk*/*'), path(model)

    output:
    path 'denoised.rds', emit: denoised

    script:
    def dirs = (filtered instanceof List ? filtered : [filtered]).join(',')
    def pool = params.dada2_pool.toString() == 'true' ? 'true' : 'false'
    """
    printf '%s\\n' ${chunk.ids.join(' ')} > samples.txt
    dada2_denoise.R --samples samples.txt --filtered ${dirs} --model ${model} --pool ${pool} \\
        --min-overlap ${params.dada2_min_overlap} --threads ${task.cpus}
    """
}
