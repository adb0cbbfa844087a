"""``compare --retaxonomise NAME``: every input's ASVs re-classified with one reference.

Tables from institutions that classified with different references (SILVA here, a DADA2
training set there) carry lineages that mean different things. The harmonisation a network
needs is to classify every ASV sequence again with one reference from a database sheet
(checksum verified), with the same classifier the pipeline uses for that format: vsearch
SINTAX (``sintax``) or DADA2 assignTaxonomy (``dada2``), then the same harmonised lineage
model (:func:`soilbiome.taxonomy.harmonise`). Each distinct sequence is classified once.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from soilbiome.errors import InputError, ToolError
from soilbiome.model.table import FeatureTable
from soilbiome.refdb import RefDb, load_refdb
from soilbiome.run import PROJECT_ROOT
from soilbiome.taxonomy.lineage import RANKS, feature_id_for

#: Default confidence cutoffs, as in the pipeline (docs/lineage.md).
CUTOFFS = {"sintax": 0.8, "dada2": 0.5}
CLASSIFIERS = {"sintax": "vsearch SINTAX", "dada2": "DADA2 assignTaxonomy"}
_SCRIPT = PROJECT_ROOT / "bin" / "dada2_taxonomy.R"


def _run(cmd: list[str], what: str) -> None:
    if shutil.which(cmd[0]) is None:
        raise ToolError(f"--retaxonomise needs '{cmd[0]}' ({what}), which is not on PATH")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-3:]
        raise ToolError(f"{what} failed (exit {proc.returncode}): {' / '.join(tail)}")


def retaxonomise(tables: Sequence[FeatureTable], labels: Sequence[str], sheet: str | Path,
                 name: str, *, seed: int = 42,
                 min_confidence: float | None = None) -> tuple[list[pd.DataFrame], dict]:
    """New lineages for every input's features, from reference ``name`` of ``sheet``.

    Returns
    -------
    (list of DataFrame, dict)
        Per input a frame indexed by its feature ids with one column per rank; and the
        reference record (name, version, sha256, format, taxonomy, classifier).

    Raises
    ------
    InputError
        An input without ASV sequences, or a reference that is not an amplicon reference.
    """
    entry: RefDb = load_refdb(sheet, name)  # checksum verified
    if entry.format not in CUTOFFS:
        raise InputError(f"--retaxonomise {name}: format '{entry.format}' is not an amplicon "
                         "reference (sintax or dada2)", location=str(sheet))
    per_input: list[list[str]] = []
    for t, label in zip(tables, labels, strict=True):
        seqs = t.observation_metadata.get("sequence")
        if seqs is None or not all(str(s).strip() for s in seqs):
            raise InputError(f"--retaxonomise: input {label} does not record its ASV sequences "
                             "(taxon tables cannot be re-classified)")
        per_input.append([str(s).strip().upper() for s in seqs])
    unique = list(dict.fromkeys(s for seqs in per_input for s in seqs))
    cutoff = CUTOFFS[entry.format] if min_confidence is None else min_confidence
    from soilbiome.taxonomy import harmonise

    with tempfile.TemporaryDirectory(prefix="soilbiome-retax-") as tmp:
        fasta = Path(tmp) / "asvs.fasta"
        fasta.write_text("".join(f">{feature_id_for(s)}\n{s}\n" for s in unique))
        raw = Path(tmp) / "classified.tsv"
        if entry.format == "sintax":
            _run(["vsearch", "--sintax", str(fasta), "--db", str(entry.path), "--tabbedout",
                  str(raw), "--strand", "both", "--sintax_cutoff", str(cutoff), "--randseed",
                  str(seed), "--threads", "1", "--quiet"], "vsearch SINTAX")
        else:
            _run(["Rscript", str(_SCRIPT), str(fasta), str(entry.path), str(raw), "1",
                  str(seed)], "DADA2 assignTaxonomy")
        lineages = harmonise(entry.format, raw, reference=f"{entry.name} {entry.version}",
                             min_confidence=cutoff)
    by_id = {lin.feature_id: list(lin.names) for lin in lineages}
    frames = []
    for t, seqs in zip(tables, per_input, strict=True):
        rows = [by_id.get(feature_id_for(s), [""] * len(RANKS)) for s in seqs]
        frames.append(pd.DataFrame(rows, index=pd.Index(list(t.feature_ids), name="feature"),
                                   columns=list(RANKS)))
    record = {"name": entry.name, "version": entry.version, "sha256": entry.sha256,
              "format": entry.format, "taxonomy": entry.taxonomy,
              "classifier": CLASSIFIERS[entry.format], "sequences": len(unique)}
    return frames, record
