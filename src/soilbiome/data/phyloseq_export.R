# A phyloseq object (.rds) of a soilbiome BIOM table, made with R's phyloseq as
# nf-core/ampliseq offers: otu_table (taxa are rows), tax_table (Domain .. Species), sample_data
# (every sample metadata column under its own name) and refseq (the ASV sequences).
# Usage: Rscript phyloseq_export.R TABLE.biom OUT.rds
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: phyloseq_export.R TABLE.biom OUT.rds")
suppressPackageStartupMessages({
  library(phyloseq)
  library(rhdf5)  # Debian's biomformat calls h5read() without importing rhdf5
  library(Biostrings)
})
ranks <- c("Domain", "Kingdom", "Phylum", "Class", "Order", "Family", "Genus", "Species")
parse_soilbiome <- function(x) {
  x <- sub("^[a-z]__", "", x)
  x[x == ""] <- NA
  if (length(x) != length(ranks)) length(x) <- length(ranks)
  setNames(x, ranks)
}
biom <- biomformat::read_biom(args[1])
ps <- import_biom(biom, parseFunction = parse_soilbiome)
if (!is.null(sample_data(ps, errorIfNULL = FALSE))) {
  # import_biom applies R's check.names (16s_primer -> X16s_primer): restore the names
  colnames(sample_data(ps)) <- names(unlist(biom$columns[[1]]$metadata))
}
seqs <- vapply(biom$rows, function(r) {
  s <- r$metadata$sequence
  if (is.null(s)) NA_character_ else as.character(s)
}, character(1))
ids <- vapply(biom$rows, function(r) r$id, character(1))
if (length(ids) > 0 && !anyNA(seqs)) {
  ps <- merge_phyloseq(ps, refseq(DNAStringSet(setNames(seqs, ids))))
}
tmp <- paste0(args[2], ".tmp")
saveRDS(ps, tmp)
invisible(file.rename(tmp, args[2]))
cat(sprintf("phyloseq: %d taxa x %d samples -> %s\n", ntaxa(ps), nsamples(ps), args[2]))
