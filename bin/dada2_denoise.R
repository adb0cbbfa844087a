#!/usr/bin/env Rscript
# DADA2 denoising of one amplicon batch, following the DADA2 tutorial's steps:
# filterAndTrim -> learnErrors -> dada -> mergePairs (paired) -> removeBimeraDenovo.
# Samples with no reads (before or after filtering) stay in every output with zeros.
#
# Input : --samples TSV with columns sample, fastq_1, fastq_2 (fastq_2 empty for single-end)
# Output: asv_counts.tsv  feature_id, sequence, one integer column per sample (all samples)
#         asv.fasta       >feature_id sequence; feature_id = md5 of the upper-case sequence
#         read_tracking.tsv sample, input, filtered, denoised_f, denoised_r, merged, nonchim

suppressPackageStartupMessages({
    library(dada2)
    library(digest)
})

args <- commandArgs(trailingOnly = TRUE)
opt <- list(samples = NULL, trunc_len_f = 0, trunc_len_r = 0, max_ee_f = 2, max_ee_r = 2,
            trunc_q = 2, min_len = 50, min_overlap = 12, threads = 1, seed = 100,
            pool = "false", chimera_method = "consensus")
i <- 1
while (i <= length(args)) {
    key <- sub("^--", "", args[i])
    key <- gsub("-", "_", key)
    if (!key %in% names(opt)) stop(sprintf("unknown option --%s", key))
    opt[[key]] <- args[i + 1]
    i <- i + 2
}
if (is.null(opt$samples)) stop("--samples is required")
num <- function(x) as.numeric(x)
set.seed(num(opt$seed))
threads <- as.integer(opt$threads)

sheet <- read.delim(opt$samples, colClasses = "character", check.names = FALSE)
if (anyDuplicated(sheet$sample)) stop("duplicate sample IDs in ", opt$samples)
paired <- all(nzchar(sheet$fastq_2))
if (!paired && any(nzchar(sheet$fastq_2))) {
    stop("a batch must be all paired-end or all single-end for DADA2 error learning")
}
samples <- sheet$sample
n <- length(samples)

count_reads <- function(path) {
    if (!file.exists(path) || file.size(path) == 0) return(0L)
    con <- gzfile(path, "r")
    on.exit(close(con))
    total <- 0L
    repeat {
        chunk <- readLines(con, n = 400000L)
        if (length(chunk) == 0) break
        total <- total + length(chunk)
    }
    as.integer(total %/% 4L)
}

track <- data.frame(sample = samples, input = vapply(sheet$fastq_1, count_reads, 0L),
                    filtered = 0L, denoised_f = 0L, denoised_r = 0L, merged = 0L, nonchim = 0L,
                    check.names = FALSE, stringsAsFactors = FALSE)

dir.create("filtered", showWarnings = FALSE)
filt_f <- file.path("filtered", paste0(samples, "_F_filt.fastq.gz"))
filt_r <- file.path("filtered", paste0(samples, "_R_filt.fastq.gz"))
has_input <- track$input > 0

if (any(has_input)) {
    idx <- which(has_input)
    trunc_len <- if (paired) c(num(opt$trunc_len_f), num(opt$trunc_len_r)) else num(opt$trunc_len_f)
    max_ee <- if (paired) c(num(opt$max_ee_f), num(opt$max_ee_r)) else num(opt$max_ee_f)
    out <- if (paired) {
        filterAndTrim(sheet$fastq_1[idx], filt_f[idx], sheet$fastq_2[idx], filt_r[idx],
                      truncLen = trunc_len, maxEE = max_ee, truncQ = num(opt$trunc_q),
                      minLen = num(opt$min_len), maxN = 0, rm.phix = TRUE, compress = TRUE,
                      multithread = threads)
    } else {
        filterAndTrim(sheet$fastq_1[idx], filt_f[idx], truncLen = trunc_len, maxEE = max_ee,
                      truncQ = num(opt$trunc_q), minLen = num(opt$min_len), maxN = 0,
                      rm.phix = TRUE, compress = TRUE, multithread = threads)
    }
    track$filtered[idx] <- as.integer(out[, "reads.out"])
}

kept <- which(track$filtered > 0 & file.exists(filt_f))
seqtab <- matrix(0L, nrow = n, ncol = 0, dimnames = list(samples, NULL))

as_list <- function(x, names) {
    if (inherits(x, "dada") || inherits(x, "derep") || is.data.frame(x)) x <- list(x)
    names(x) <- names
    x
}

if (length(kept) > 0) {
    pool <- switch(tolower(opt$pool), true = TRUE, pseudo = "pseudo", FALSE)
    err_f <- learnErrors(filt_f[kept], multithread = threads, randomize = TRUE, verbose = 0)
    dada_f <- as_list(dada(filt_f[kept], err = err_f, pool = pool, multithread = threads,
                           verbose = 0), samples[kept])
    track$denoised_f[kept] <- vapply(dada_f, function(d) sum(getUniques(d)), 0)
    if (paired) {
        err_r <- learnErrors(filt_r[kept], multithread = threads, randomize = TRUE, verbose = 0)
        dada_r <- as_list(dada(filt_r[kept], err = err_r, pool = pool, multithread = threads,
                               verbose = 0), samples[kept])
        track$denoised_r[kept] <- vapply(dada_r, function(d) sum(getUniques(d)), 0)
        merged <- as_list(mergePairs(dada_f, filt_f[kept], dada_r, filt_r[kept],
                                     minOverlap = as.integer(opt$min_overlap), verbose = FALSE),
                          samples[kept])
        track$merged[kept] <- vapply(merged, function(m) sum(m$abundance), 0)
        st <- makeSequenceTable(merged)
    } else {
        track$merged[kept] <- track$denoised_f[kept]
        st <- makeSequenceTable(dada_f)
    }
    if (ncol(st) > 0) {
        st <- removeBimeraDenovo(st, method = opt$chimera_method, multithread = threads,
                                 verbose = FALSE)
    }
    if (is.null(dim(st))) st <- matrix(st, nrow = length(kept), dimnames = list(samples[kept], names(st)))
    rownames(st) <- samples[kept]
    full <- matrix(0L, nrow = n, ncol = ncol(st), dimnames = list(samples, colnames(st)))
    full[rownames(st), ] <- st
    seqtab <- full
    track$nonchim <- as.integer(rowSums(seqtab))
}

# ASVs ordered by total abundance, then sequence; ids are md5 of the upper-case sequence
seqs <- toupper(colnames(seqtab))
ord <- order(-colSums(seqtab), seqs)
seqtab <- seqtab[, ord, drop = FALSE]
seqs <- seqs[ord]
ids <- vapply(seqs, function(s) digest(s, algo = "md5", serialize = FALSE), "", USE.NAMES = FALSE)

counts <- data.frame(feature_id = ids, sequence = seqs, t(seqtab), check.names = FALSE,
                     stringsAsFactors = FALSE)
if (length(ids) == 0) {
    counts <- data.frame(matrix(ncol = 2 + n, nrow = 0,
                                dimnames = list(NULL, c("feature_id", "sequence", samples))),
                         check.names = FALSE)
}
write_atomic <- function(obj, path, writer) {
    tmp <- paste0(path, ".tmp")
    writer(obj, tmp)
    invisible(file.rename(tmp, path))
}
write_atomic(counts, "asv_counts.tsv", function(x, p)
    write.table(x, p, sep = "\t", quote = FALSE, row.names = FALSE))
write_atomic(track, "read_tracking.tsv", function(x, p)
    write.table(x, p, sep = "\t", quote = FALSE, row.names = FALSE))
write_atomic(NULL, "asv.fasta", function(x, p)
    writeLines(if (length(ids)) paste0(">", ids, "\n", seqs) else character(0), p))

message(sprintf("DADA2: %d samples (%d with reads after filtering), %d ASVs, %d reads kept",
                n, length(kept), length(ids), sum(seqtab)))
