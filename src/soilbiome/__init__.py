"""soilbiome: soil metagenomics biodiversity tables that can be shared."""

__version__ = "0.1.0"
