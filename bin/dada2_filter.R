#!/usr/bin/env Rscript
# DADA2 step 1, per chunk of samples: filterAndTrim.
# Input : --samples TSV (sample, fastq_1, fastq_2); filter options as dada2_single.R
# Output: filtered/<sample>_{F,R}_filt.fastq.gz (samples with reads left), filter_tracking.tsv
#         (sample, input, filtered)

local({
    file_arg <- grep("^--file=", commandArgs(trailingOnly = FALSE), value = TRUE)
    here <- dirname(normalizePath(sub("^--file=", "", file_arg[1])))
    source(file.path(here, "dada2_lib.R"))
})

opt <- parse_opts(c(list(samples = NULL), OPT_DEFAULTS))
if (is.null(opt$samples)) stop("--samples is required")
track <- filter_samples(read_samples(opt$samples), opt)
write_tsv(track, "filter_tracking.tsv")
