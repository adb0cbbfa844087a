/*
 * DADA2_ERRORS: one error model per sequencing run (learnErrors on the run's filtered reads).
 */
process DADA2_ERRORS {
    tag "${run.id}"
    label 'process_medium'

    input:
    tuple val(run), path(filtered, stageAs: 'chunk*/*')

    output:
    tuple val(run), path('errors.rds'), emit: model

    script:
    def dirs = (filtered instanceof List ? filtered : [filtered]).join(',')
    """
    printf '%s\\n' ${run.ids.join(' ')} > samples.txt
    dada2_errors.R --samples samples.txt --filtered ${dirs} --threads ${task.cpus} --seed ${params.seed}
    """
}
