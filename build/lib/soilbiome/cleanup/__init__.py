"""Standard clean-up of an ASV table before it is published.

* :mod:`soilbiome.cleanup.nontarget`: 16S chloroplast and mitochondria ASVs, found by lineage,
  moved to a separate table and reported per sample;
* :mod:`soilbiome.cleanup.decontam`: contaminant ASVs flagged by their prevalence in negative
  controls (decontam's ``isContaminant(method = "prevalence")``);
* :mod:`soilbiome.cleanup.run`: both steps on the DADA2 counts, writing the reports.
"""
