#!/usr/bin/env Rscript
# DADA2 step 4, once per batch: merge the per-sample tables, removeBimeraDenovo, write the
# batch's outputs (same files as dada2_single.R).
# Input : --tracking comma-separated filter_tracking.tsv files (every sample of the batch);
#         --denoised comma-separated denoised.rds files
# Output: asv_counts.tsv, asv.fasta, read_tracking.tsv

local({
    file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
    here <- dirname(normalizePath(sub("^--file=", "", file_arg[1])))
    source(file.path(here, "dada2_lib.R"))
})

opt <- parse_opts(list(tracking = NULL, denoised = NULL, threads = 1, chimera_method = "consensus"))
track <- do.call(rbind, lapply(strsplit(opt$tracking, ",")[[1]], read.delim,
                               colClasses = c("character", "integer", "integer")))
track <- track[order(track$sample, method = "radix"), , drop = FALSE]
if (anyDuplicated(track$sample)) stop("a sample appears in more than one filter chunk")
track[c("denoised_f", "denoised_r", "merged")] <- 0
tables <- list()
for (path in strsplit(opt$denoised, ",")[[1]]) {
    res <- readRDS(path)
    rows <- match(res$track$sample, track$sample)
    track[rows, c("denoised_f", "denoised_r", "merged")] <- res$track[c("denoised_f", "denoised_r", "merged")]
    tables <- c(tables, res$tables)
}
tables <- tables[track$sample[track$sample %in% names(tables)]]
finish_table(tables, track, opt$chimera_method, as.integer(opt$threads))
