#!/usr/bin/env Rscript
# DADA2 step 3, per chunk of one run's samples (per run with --pool true): dada() with the run's
# error model (and pseudo-pooling priors), mergePairs for paired reads.
# Input : --samples (one ID a line), --filtered folders, --model errors.rds / model.rds,
#         --pool true|false, --min-overlap
# Output: denoised.rds  list(track = sample, denoised_f, denoised_r, merged; tables = named list
#         of merged pairs (paired) or dada results (single-end)), samples with reads only

local({
    file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
    here <- dirname(normalizePath(sub("^--file=", "", file_arg[1])))
    source(file.path(here, "dada2_lib.R"))
})

opt <- parse_opts(list(samples = NULL, filtered = NULL, model = NULL, pool = "false",
                       min_overlap = 12, threads = 1))
found <- find_filtered(readLines(opt$samples), opt$filtered)
model <- readRDS(opt$model)
res <- list(track = data.frame(sample = character(0), denoised_f = numeric(0),
                               denoised_r = numeric(0), merged = numeric(0)),
            tables = list())
if (nrow(found) > 0 && !is.null(model$F)) {
    paired <- all(nzchar(found$R))
    res <- denoise_samples(found$F, if (paired) found$R else character(0), found$sample, model,
                           isTRUE(pool_mode(opt$pool)), opt$min_overlap, as.integer(opt$threads))
}
save_rds(res, "denoised.rds")
