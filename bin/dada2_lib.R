# Shared functions of the DADA2 steps (sourced by dada2_*.R; not run on its own).
#
# The amplicon workflow runs DADA2 the way its big-data workflow intends
# (https://benjjneb.github.io/dada2/bigdata.html): filter and trim per sample, learn error
# models per sequencing run, denoise and merge per sample with the run's model, then merge the
# sequence tables and remove chimeras once. Every step here is the same call the single-process
# script (dada2_single.R) makes, so the split gives the same ASVs as one R process.

suppressPackageStartupMessages({
    library(dada2)
    library(digest)
})

OPT_DEFAULTS <- list(trunc_len_f = 0, trunc_len_r = 0, max_ee_f = 2, max_ee_r = 2, trunc_q = 2,
                     min_len = 50, min_overlap = 12, threads = 1, seed = 100, pool = "false",
                     chimera_method = "consensus")

#' Parse `--key value` pairs (dashes in keys become underscores) over `defaults`.
parse_opts <- function(defaults, args = commandArgs(trailingOnly = TRUE)) {
    opt <- defaults
    i <- 1
    while (i <= length(args)) {
        key <- gsub("-", "_", sub("^--", "", args[i]))
        if (!key %in% names(opt)) stop(sprintf("unknown option --%s", gsub("_", "-", key)))
        if (i + 1 > length(args)) stop(sprintf("option --%s needs a value", key))
        opt[[key]] <- args[i + 1]
        i <- i + 2
    }
    opt
}

num <- function(x) as.numeric(x)

#' Pool mode as dada() takes it: TRUE, "pseudo" or FALSE.
pool_mode <- function(x) switch(tolower(as.character(x)), true = TRUE, pseudo = "pseudo", FALSE)

#' Read a samples TSV (sample, fastq_1, fastq_2[, run]); check IDs and single/paired mixing.
read_samples <- function(path) {
    sheet <- read.delim(path, colClasses = "character", check.names = FALSE)
    if (anyDuplicated(sheet$sample)) stop("duplicate sample IDs in ", path)
    if (!"fastq_2" %in% names(sheet)) sheet$fastq_2 <- ""
    sheet$fastq_2[is.na(sheet$fastq_2)] <- ""
    sheet
}

#' TRUE when every sample is paired-end; stops when paired and single-end reads are mixed.
is_paired <- function(fastq_2, what = "a run") {
    paired <- all(nzchar(fastq_2))
    if (!paired && any(nzchar(fastq_2))) {
        stop(what, " must be all paired-end or all single-end for DADA2 error learning")
    }
    paired
}

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

filt_path <- function(dir, samples, mate) file.path(dir, paste0(samples, "_", mate, "_filt.fastq.gz"))

#' The filtered files of `samples` (in that order) found in the comma-separated `folders`:
#' a data.frame sample, F, R ("" for single-end); samples without a forward file are left out
#' (no reads passed the filter).
find_filtered <- function(samples, folders) {
    folders <- strsplit(folders, ",")[[1]]
    locate <- function(name) {
        hits <- file.path(folders, name)
        hits <- hits[file.exists(hits)]
        if (length(hits)) hits[1] else ""
    }
    f <- vapply(paste0(samples, "_F_filt.fastq.gz"), locate, "", USE.NAMES = FALSE)
    r <- vapply(paste0(samples, "_R_filt.fastq.gz"), locate, "", USE.NAMES = FALSE)
    keep <- nzchar(f)
    found <- data.frame(sample = samples[keep], F = f[keep], R = r[keep], stringsAsFactors = FALSE)
    if (nrow(found) > 0 && any(nzchar(found$R)) && !all(nzchar(found$R))) {
        stop("some samples of this run have reverse reads and some do not")
    }
    found
}

#' filterAndTrim the samples that have reads; returns sample, input, filtered.
filter_samples <- function(sheet, opt, outdir = "filtered") {
    samples <- sheet$sample
    paired <- is_paired(sheet$fastq_2, "a batch")
    dir.create(outdir, showWarnings = FALSE)
    track <- data.frame(sample = samples, input = vapply(sheet$fastq_1, count_reads, 0L),
                        filtered = 0L, stringsAsFactors = FALSE, row.names = NULL)
    idx <- which(track$input > 0)
    if (length(idx) == 0) return(track)
    filt_f <- filt_path(outdir, samples, "F")
    filt_r <- filt_path(outdir, samples, "R")
    threads <- as.integer(opt$threads)
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
    track
}

#' Error models of one run: learnErrors on the forward (and reverse) filtered reads, in the
#' order given, after set.seed(seed) — the same random stream as the single-process script.
learn_run_errors <- function(filt_f, filt_r, threads, seed) {
    set.seed(seed)
    err_f <- learnErrors(filt_f, multithread = threads, randomize = TRUE, verbose = 0)
    err_r <- if (length(filt_r)) {
        learnErrors(filt_r, multithread = threads, randomize = TRUE, verbose = 0)
    } else NULL
    list(F = err_f, R = err_r, priors_F = character(0), priors_R = character(0))
}

as_list <- function(x, names) {
    if (inherits(x, "dada") || inherits(x, "derep") || is.data.frame(x)) x <- list(x)
    names(x) <- names
    x
}

#' First pass of pseudo-pooling for some samples of a run: dada() per sample with the run's
#' error model; keeps what the second pass needs (substitution counts and ASV abundances).
pseudo_first_pass <- function(files, samples, err, threads) {
    dd <- as_list(dada(files, err = err, pool = FALSE, multithread = threads, verbose = 0), samples)
    lapply(dd, function(d) list(trans = d$trans, clustering = d$clustering[, c("sequence", "abundance")]))
}

#' Between the passes of pseudo-pooling, as dada(pool = "pseudo") does inside one call: the
#' error model is re-estimated from the first pass's substitution counts of all the run's
#' samples, and ASVs found in at least PSEUDO_PREVALENCE samples (or PSEUDO_ABUNDANCE reads)
#' become priors of the second pass.
pseudo_priors <- function(first) {
    first <- first[order(names(first))]
    cur <- dada2:::accumulateTrans(lapply(first, `[[`, "trans"))
    err <- tryCatch(suppressWarnings(loessErrfun(cur)), error = function(e) NULL)
    st <- makeSequenceTable(lapply(first, `[[`, "clustering"))
    opts <- getDadaOpt()
    priors <- colnames(st)[colSums(st > 0) >= opts$PSEUDO_PREVALENCE |
                           colSums(st) >= opts$PSEUDO_ABUNDANCE]
    list(err = err, priors = priors)
}

#' Denoise (and merge pairs of) the samples of one chunk with their run's model.
#' `model` holds F, R (error matrices) and priors_F, priors_R (pseudo-pooling's second pass).
#' pool TRUE: the chunk is a whole run, pooled in one dada() call.
#' Returns list(track = sample, denoised_f, denoised_r, merged; tables = named list of
#' merged data.frames (paired) or dada objects (single-end)).
denoise_samples <- function(filt_f, filt_r, samples, model, pool, min_overlap, threads) {
    paired <- length(filt_r) > 0
    run_dada <- function(files, err, priors) {
        as_list(dada(files, err = err, pool = pool, priors = priors, multithread = threads,
                     verbose = 0), samples)
    }
    dada_f <- run_dada(filt_f, model$F, model$priors_F)
    track <- data.frame(sample = samples, denoised_f = vapply(dada_f, function(d) sum(getUniques(d)), 0),
                        denoised_r = 0, merged = 0, stringsAsFactors = FALSE, row.names = NULL)
    if (paired) {
        dada_r <- run_dada(filt_r, model$R, model$priors_R)
        track$denoised_r <- vapply(dada_r, function(d) sum(getUniques(d)), 0)
        tables <- as_list(mergePairs(dada_f, filt_f, dada_r, filt_r,
                                     minOverlap = as.integer(min_overlap), verbose = FALSE), samples)
        track$merged <- vapply(tables, function(m) sum(m$abundance), 0)
    } else {
        tables <- dada_f
        track$merged <- track$denoised_f
    }
    list(track = track, tables = tables)
}

write_atomic <- function(obj, path, writer) {
    tmp <- paste0(path, ".tmp")
    writer(obj, tmp)
    if (!file.rename(tmp, path)) stop("could not write ", path)
    invisible(path)
}

write_tsv <- function(x, path) {
    write_atomic(x, path, function(x, p) write.table(x, p, sep = "\t", quote = FALSE, row.names = FALSE))
}

save_rds <- function(x, path) write_atomic(x, path, function(x, p) saveRDS(x, p))

#' One sequence table for all samples: chimeras removed, ASVs ordered by total abundance then
#' sequence, ids = md5 of the upper-case sequence; samples without reads stay with zeros.
#' Writes asv_counts.tsv, asv.fasta and read_tracking.tsv.
finish_table <- function(tables, track, chimera_method, threads) {
    samples <- track$sample
    n <- length(samples)
    seqtab <- matrix(0L, nrow = n, ncol = 0, dimnames = list(samples, NULL))
    kept <- names(tables)
    if (length(kept) > 0) {
        st <- makeSequenceTable(tables)
        if (ncol(st) > 0) {
            st <- removeBimeraDenovo(st, method = chimera_method, multithread = threads,
                                     verbose = FALSE)
        }
        if (is.null(dim(st))) st <- matrix(st, nrow = length(kept), dimnames = list(kept, names(st)))
        rownames(st) <- kept
        full <- matrix(0L, nrow = n, ncol = ncol(st), dimnames = list(samples, colnames(st)))
        full[rownames(st), ] <- st
        seqtab <- full
    }
    track$nonchim <- as.integer(rowSums(seqtab))

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
    cols <- c("sample", "input", "filtered", "denoised_f", "denoised_r", "merged", "nonchim")
    write_tsv(counts, "asv_counts.tsv")
    write_tsv(track[, cols], "read_tracking.tsv")
    write_atomic(NULL, "asv.fasta", function(x, p)
        writeLines(if (length(ids)) paste0(">", ids, "\n", seqs) else character(0), p))
    message(sprintf("DADA2: %d samples (%d with reads after filtering), %d ASVs, %d reads kept",
                    n, length(kept), length(ids), sum(seqtab)))
}
