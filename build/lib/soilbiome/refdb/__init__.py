"""Reference databases: the database sheet (:mod:`~soilbiome.refdb.sheet`), adding a reference
to a sheet with its checksum (:mod:`~soilbiome.refdb.add`), and fetching the references users
actually use from the catalogue shipped with the package (:mod:`~soilbiome.refdb.fetch`,
:mod:`~soilbiome.refdb.download`, :mod:`~soilbiome.refdb.catalogue`); the field checks both
share are in :mod:`~soilbiome.refdb.fields`."""

from soilbiome.refdb.sheet import COLUMNS, FORMATS, KRAKEN2_FILES, RefDb, kraken2_digest, load_refdb

__all__ = ["COLUMNS", "FORMATS", "KRAKEN2_FILES", "RefDb", "kraken2_digest", "load_refdb"]
