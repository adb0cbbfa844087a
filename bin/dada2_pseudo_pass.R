#!/usr/bin/env Rscript
# DADA2 pseudo-pooling, first pass, per chunk of one run's samples: dada() per sample with the
# run's error model; keeps the substitution counts and ASV abundances the second pass needs.
# Input : --samples (one ID a line), --filtered folders, --model errors.rds of the run
# Output: pass1.rds  named list per sample and mate: list(F = list(trans, clustering), R = ...)

local({
    file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
    here <- dirname(normalizePath(sub("^--file=", "", file_arg[1])))
    source(file.path(here, "dada2_lib.R"))
})

opt <- parse_opts(list(samples = NULL, filtered = NULL, model = NULL, threads = 1))
found <- find_filtered(readLines(opt$samples), opt$filtered)
model <- readRDS(opt$model)
threads <- as.integer(opt$threads)
out <- list(F = list(), R = list())
if (nrow(found) > 0 && !is.null(model$F)) {
    out$F <- pseudo_first_pass(found$F, found$sample, model$F, threads)
    if (all(nzchar(found$R))) out$R <- pseudo_first_pass(found$R, found$sample, model$R, threads)
}
save_rds(out, "pass1.rds")
