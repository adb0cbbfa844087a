#!/usr/bin/env Rscript
# DADA2 step 2, per sequencing run: learnErrors on the run's filtered forward (and reverse)
# reads. Samples are taken in the order given (the batch's sample order), after set.seed(seed).
# Input : --samples file with one sample ID a line; --filtered comma-separated folders holding
#         <sample>_{F,R}_filt.fastq.gz (samples without a file had no reads left)
# Output: errors.rds  list(F, R, priors_F, priors_R); F is NULL when no sample has reads

local({
    file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
    here <- dirname(normalizePath(sub("^--file=", "", file_arg[1])))
    source(file.path(here, "dada2_lib.R"))
})

opt <- parse_opts(list(samples = NULL, filtered = NULL, threads = 1, seed = 100))
found <- find_filtered(readLines(opt$samples), opt$filtered)
model <- if (nrow(found) > 0) {
    learn_run_errors(found$F, found$R[nzchar(found$R)], as.integer(opt$threads), num(opt$seed))
} else list(F = NULL, R = NULL, priors_F = character(0), priors_R = character(0))
save_rds(model, "errors.rds")
