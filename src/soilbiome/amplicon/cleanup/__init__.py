"""Standard clean-up of an ASV table before it is published.

* :mod:`soilbiome.amplicon.cleanup.nontarget`: 16S chloroplast and mitochondria ASVs, found by
  lineage, moved to a separate table and reported per sample;
* :mod:`soilbiome.amplicon.cleanup.decontam`: contaminant ASVs flagged by their prevalence in
  negative controls (decontam's ``isContaminant(method = "prevalence")``);
* :mod:`soilbiome.amplicon.cleanup.run`: both steps on the DADA2 counts, writing the reports.
"""
