/*
 * DADA2_PSEUDO_PASS: first pass of pseudo-pooling for one chunk of a run's samples
 * (dada per sample with the run's error model).
 */
process DADA2_PSEUDO_PASS {
    tag "${chunk.id}"
    label 'process_low'

    input:
    tuple val(chunk), path(filtered, stageAs: 'chunk*/*'), path(model)

    output:
    tuple val(chunk), path('pass1.rds'), emit: pass1

    script:
    def dirs = (filtered instanceof List ? filtered : [filtered]).join(',')
    """
    printf '%s\\n' ${chunk.ids.join(' ')} > samples.txt
    dada2_pseudo_pass.R --samples samples.txt --filtered ${dirs} --model ${model} --threads ${task.cpus}
    """
}
