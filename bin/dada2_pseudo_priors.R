#!/usr/bin/env Rscript
# DADA2 pseudo-pooling, between the passes, per run: the error model re-estimated from all the
# run's first-pass substitution counts and the priors (ASVs in >= 2 samples), as
# dada(pool = "pseudo") computes them inside one call.
# Input : --pass1 comma-separated pass1.rds files of the run; --model errors.rds of the run
# Output: model.rds  list(F, R, priors_F, priors_R) for the second pass

local({
    file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
    here <- dirname(normalizePath(sub("^--file=", "", file_arg[1])))
    source(file.path(here, "dada2_lib.R"))
})

opt <- parse_opts(list(pass1 = NULL, model = NULL))
model <- readRDS(opt$model)
passes <- lapply(strsplit(opt$pass1, ",")[[1]], readRDS)
for (mate in c("F", "R")) {
    first <- do.call(c, lapply(passes, function(p) p[[mate]]))
    if (length(first) == 0) next
    pp <- pseudo_priors(first)
    if (!is.null(pp$err)) model[[mate]] <- pp$err
    model[[paste0("priors_", mate)]] <- pp$priors
}
save_rds(model, "model.rds")
