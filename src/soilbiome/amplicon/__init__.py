"""Amplicon (16S / 18S / ITS) steps around DADA2, in pipeline order.

:mod:`soilbiome.amplicon.qc` (per-sample FASTQ check + fastp records, the batch QC table),
:mod:`soilbiome.amplicon.primers` (cutadapt primer-removal statistics and flags),
DADA2 itself (R scripts in ``bin/``, see ``docs/dada2.md``),
:mod:`soilbiome.amplicon.its_region` (ITS ASVs cut to ITS1/ITS2 with ITSxpress),
:mod:`soilbiome.amplicon.cleanup` (chloroplast / mitochondria and decontam prevalence),
:mod:`soilbiome.amplicon.phylogeny` (MAFFT + FastTree ASV tree for UniFrac and Faith's PD).
The shotgun counterpart is :mod:`soilbiome.shotgun`.
"""
