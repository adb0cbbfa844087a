"""soilbiome: soil metagenomics biodiversity tables that can be shared."""

__version__ = "0.2.0"
