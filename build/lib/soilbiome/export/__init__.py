"""Exports of stamped tables for publication: :mod:`soilbiome.export.gbif` (Darwin Core)."""
