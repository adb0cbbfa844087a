# A phyloseq object (.rds) of a soilbiome table, made with R's phyloseq as nf-core/ampliseq
# offers: otu_table (taxa are rows), tax_table (one column per rank, NA where unassigned),
# sample_data (every sample metadata column under its own name), refseq (the ASV sequences) and
# phy_tree (the ASV tree, when the table carries one: tree.nwk, tips = the table's features).
# The table arrives as plain TSVs written by soilbiome's validated BIOM reader, not through
# biomformat::read_biom, which misreads empty samples and cannot read one-sample HDF5 tables.
# Usage: Rscript phyloseq_export.R DIR OUT.rds, then "go" on stdin once DIR is written
#        (DIR holds counts, taxonomy, samples, sequences TSVs and, optionally, tree.nwk):
#        the packages load while the caller prepares DIR; without "go" nothing is written.
args <- commandArgs(trailingOnly = TRUE)
if (length(args) != 2) stop("usage: phyloseq_export.R DIR OUT.rds")
suppressPackageStartupMessages({
  library(phyloseq)
  library(Biostrings)
  library(ape)
})
if (!identical(readLines(file("stdin"), n = 1), "go")) quit(save = "no", status = 3)
rd <- function(name) {
  read.delim(file.path(args[1], name), check.names = FALSE, colClasses = "character",
             na.strings = character(0), quote = "\"", comment.char = "")
}
counts <- rd("counts.tsv")
m <- as.matrix(counts[, -1, drop = FALSE])
storage.mode(m) <- "double"
rownames(m) <- counts[[1]]
parts <- list(otu_table(m, taxa_are_rows = TRUE))
tax <- rd("taxonomy.tsv")
tm <- as.matrix(tax[, -1, drop = FALSE])
tm[tm == ""] <- NA
rownames(tm) <- tax[[1]]
parts[["tax"]] <- tax_table(tm)
smp <- rd("samples.tsv")
if (ncol(smp) > 1) {
  df <- smp[, -1, drop = FALSE]
  rownames(df) <- smp[[1]]
  parts[["samples"]] <- sample_data(df)
}
seqs <- rd("sequences.tsv")
if (nrow(seqs) > 0 && nrow(seqs) == nrow(m) && !any(seqs[[2]] == "")) {
  parts[["refseq"]] <- refseq(DNAStringSet(setNames(seqs[[2]], seqs[[1]])))
}
tree_file <- file.path(args[1], "tree.nwk")
if (file.exists(tree_file)) {
  tree <- read.tree(tree_file)
  if (!setequal(tree$tip.label, rownames(m))) stop("tree tips differ from the table's features")
  parts[["tree"]] <- phy_tree(tree)
}
ps <- do.call(phyloseq, unname(parts))
# args[2] is already a temp file that soilbiome renames into place on success
saveRDS(ps, args[2])
cat(sprintf("phyloseq: %d taxa x %d samples%s -> %s\n", ntaxa(ps), nsamples(ps),
            if (file.exists(tree_file)) ", with phy_tree" else "", args[2]))
