#!/usr/bin/env Rscript
# DADA2 on a whole amplicon batch in ONE R process: the reference the split pipeline steps
# (dada2_filter.R, dada2_errors.R, dada2_pseudo_*.R, dada2_denoise.R, dada2_merge.R) are
# compared with in tests and bench/bench_amplicon.py, and a way to run small batches by hand.
# filterAndTrim -> per run: learnErrors, dada (pool false | pseudo | true), mergePairs ->
# makeSequenceTable -> removeBimeraDenovo. Samples without reads stay in every output with zeros.
#
# Input : --samples TSV with columns sample, fastq_1, fastq_2 (empty for single-end) and an
#         optional run (one error model per run; one run when absent)
# Output: asv_counts.tsv  feature_id, sequence, one integer column per sample (all samples)
#         asv.fasta       >feature_id sequence; feature_id = md5 of the upper-case sequence
#         read_tracking.tsv sample, input, filtered, denoised_f, denoised_r, merged, nonchim

local({
    file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
    here <- dirname(normalizePath(sub("^--file=", "", file_arg[1])))
    source(file.path(here, "dada2_lib.R"))
})

opt <- parse_opts(c(list(samples = NULL), OPT_DEFAULTS))
if (is.null(opt$samples)) stop("--samples is required")
threads <- as.integer(opt$threads)
sheet <- read_samples(opt$samples)
if (!"run" %in% names(sheet)) sheet$run <- ""
samples <- sheet$sample
paired <- is_paired(sheet$fastq_2, "a batch")

track <- filter_samples(sheet, opt)
track[c("denoised_f", "denoised_r", "merged")] <- 0
filt_f <- filt_path("filtered", samples, "F")
filt_r <- filt_path("filtered", samples, "R")
kept <- track$filtered > 0 & file.exists(filt_f)

tables <- list()
for (run in unique(sheet$run[kept])) {
    idx <- which(kept & sheet$run == run)
    model <- learn_run_errors(filt_f[idx], if (paired) filt_r[idx] else character(0),
                              threads, num(opt$seed))
    res <- denoise_samples(filt_f[idx], if (paired) filt_r[idx] else character(0), samples[idx],
                           model, pool_mode(opt$pool), opt$min_overlap, threads)
    rows <- match(res$track$sample, track$sample)
    track[rows, c("denoised_f", "denoised_r", "merged")] <- res$track[c("denoised_f", "denoised_r", "merged")]
    tables <- c(tables, res$tables)
}
tables <- tables[samples[samples %in% names(tables)]]
finish_table(tables, track, opt$chimera_method, threads)
