"""QIIME 2 companions of a table: the taxonomy TSV and the ASV sequences as FASTA.

QIIME 2 imports the BIOM counts directly (``FeatureTable[Frequency]``) but ignores BIOM
metadata, so the taxonomy and the sequences travel as the files QIIME 2 itself exports:

* ``taxonomy.tsv`` (``qiime tools import --type 'FeatureData[Taxonomy]'``, the
  ``TSVTaxonomyFormat``): header ``Feature ID<TAB>Taxon<TAB>Confidence``; ``Taxon`` is the
  lineage as ``d__Bacteria; k__; p__Firmicutes; ...`` down to the deepest named rank (a bare
  prefix marks a rank the reference does not use, so level 3 is always the phylum),
  ``Unassigned`` for a feature without any name; ``Confidence`` is the classifier's confidence
  at that deepest rank (empty when the classifier gave none), as q2-feature-classifier reports;
* ``dna-sequences.fasta`` (``FeatureData[Sequence]``): one record per feature, the md5
  feature ID as the name, the sequence on one line.
"""

from __future__ import annotations

from pathlib import Path

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.biom_reader import read_table
from soilbiome.io.textfile import safe_row
from soilbiome.model.table import FeatureTable
from soilbiome.taxonomy.lineage import RANKS, taxonomy_strings

TAXONOMY_HEADER = ("Feature ID", "Taxon", "Confidence")


def taxonomy_rows(table: FeatureTable) -> list[tuple[str, str, str]]:
    """``(feature ID, Taxon, Confidence)`` per feature, in table order."""
    md = table.observation_metadata
    rows = []
    for index, feature in enumerate(table.feature_ids):
        names = [str(table.taxonomy.iloc[index][r]) if r in table.taxonomy.columns else ""
                 for r in RANKS]
        named = [i for i, n in enumerate(names) if n]
        if not named:
            rows.append((feature, "Unassigned", ""))
            continue
        deepest = named[-1]
        taxon = "; ".join(taxonomy_strings(names)[: deepest + 1])
        conf = md.get(f"confidence_{RANKS[deepest]}")
        confidence = str(conf[index]) if conf is not None and conf[index] not in (None, "") \
            else ""
        rows.append((feature, taxon, confidence))
    return rows


def write_qiime2(biom: str | Path, outdir: str | Path,
                 table: FeatureTable | None = None) -> dict[str, Path]:
    """Write ``taxonomy.tsv`` and ``dna-sequences.fasta`` for the table into ``outdir``
    (``table``: the table as already read from ``biom``, not read again).

    Raises
    ------
    InputError
        A feature without a sequence when the table has ``sequence`` metadata (a shotgun
        profile has none: only the taxonomy is written then), or the table fails the reader.
        Nothing is written then.
    """
    table = read_table(biom) if table is None else table
    seqs = table.observation_metadata.get("sequence")
    if seqs is not None:
        empty = [f for f, s in zip(table.feature_ids, seqs, strict=True) if not s]
        if empty:
            raise InputError(f"{len(empty)} feature(s) without a sequence (first: {empty[0]})",
                             location=str(biom))
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written: dict[str, Path] = {}
    tax = outdir / "taxonomy.tsv"
    with atomic_write(tax) as handle:
        handle.write("\t".join(TAXONOMY_HEADER) + "\n")
        for row in taxonomy_rows(table):
            handle.write("\t".join(map(str, safe_row(row))) + "\n")
    written["taxonomy"] = tax
    if seqs is not None:
        fasta = outdir / "dna-sequences.fasta"
        with atomic_write(fasta) as handle:
            for feature, seq in zip(table.feature_ids, seqs, strict=True):
                handle.write(f">{feature}\n{str(seq).upper()}\n")
        written["sequences"] = fasta
    return written
