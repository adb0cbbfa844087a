#!/usr/bin/env Rscript
# DADA2 assignTaxonomy (naive Bayesian classifier, Wang et al. 2007) for the ASVs of a batch.
# Every ASV gets a row; ranks come back as the reference names them, with bootstrap support.
# The confidence cutoff is applied later, when lineages are harmonised (soilbiome taxonomy).
#
# Usage: dada2_taxonomy.R ASV_FASTA REFERENCE OUT_TSV THREADS SEED

suppressPackageStartupMessages(library(dada2))
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 5) stop("usage: dada2_taxonomy.R ASV_FASTA REFERENCE OUT_TSV THREADS SEED")
fasta <- args[1]; ref <- args[2]; out <- args[3]
set.seed(as.integer(args[5]))

lines <- readLines(fasta)
lines <- lines[nzchar(lines)]
pairs <- seq_len(length(lines) %/% 2)
ids <- sub("^>", "", lines[pairs * 2 - 1])
seqs <- lines[pairs * 2]
if (length(ids) == 0) {
    res <- data.frame(feature_id = character(0), sequence = character(0))
} else {
    tax <- assignTaxonomy(seqs, ref, minBoot = 0, outputBootstraps = TRUE,
                          multithread = as.integer(args[4]), verbose = FALSE)
    ranks <- colnames(tax$tax)
    boot <- tax$boot
    colnames(boot) <- paste0("boot_", ranks)
    res <- data.frame(feature_id = ids, sequence = seqs, tax$tax, boot, check.names = FALSE,
                      row.names = NULL, stringsAsFactors = FALSE)
}
tmp <- paste0(out, ".tmp")
write.table(res, tmp, sep = "\t", quote = FALSE, row.names = FALSE, na = "NA")
invisible(file.rename(tmp, out))
message(sprintf("assignTaxonomy: %d ASVs against %s", length(ids), basename(ref)))
