/*
 * DADA2_PSEUDO_PRIORS: between the two passes of pseudo-pooling, per run: the error model
 * re-estimated from the first pass and the priors (ASVs seen in >= 2 of the run's samples).
 */
process DADA2_PSEUDO_PRIORS {
    tag "${run.id}"
    label 'process_single'

    input:
    tuple val(run), path(pass1, stageAs: 'pass1_*.rds'), path(model)

    output:
    tuple val(run), path('model.rds'), emit: model

    script:
    def files = (pass1 instanceof List ? pass1 : [pass1]).join(',')
    """
    dada2_pseudo_priors.R --pass1 ${files} --model ${model}
    """
}
