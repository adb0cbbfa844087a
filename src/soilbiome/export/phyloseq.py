"""A phyloseq object (``.rds``) of a table, made by R's phyloseq (``phyloseq_export.R``).

Like nf-core/ampliseq's ``phyloseq.rds``: ``otu_table`` (taxa are rows; md5 feature IDs and
sample IDs unchanged, empty samples kept), ``tax_table`` with one column per rank (``Domain
Kingdom Phylum Class Order Family Genus Species``, ``NA`` where unassigned), ``sample_data``
with every sample metadata column under its own name, ``refseq`` with the ASV sequences, and
``phy_tree`` with the ASV tree when the table carries one (read by the one tree reader,
:func:`soilbiome.io.biom_tree.feature_tree`; tips = the table's features).

The table is read once by the validated reader and handed to R as plain TSVs: R's
``biomformat`` misreads empty samples and cannot read a one-sample HDF5 table at all, so the
object is assembled with phyloseq's own constructors instead of ``import_biom``.
"""

from __future__ import annotations

import csv
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from soilbiome.errors import ToolError
from soilbiome.io.atomic import DiskFullError, atomic_path

if TYPE_CHECKING:
    from soilbiome.model.table import FeatureTable

# numpy, the BIOM reader and the tree reader are imported in the functions that use them: R
# starts loading phyloseq (about 4 s) first, and these imports (0.4 s) happen meanwhile.


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def _write_tree(table: FeatureTable, folder: Path) -> bool:
    """tree.nwk with exactly the table's features as tips; False when the table has no tree.

    Read by the one tree reader with soilbiome's own Newick parser; a subset table's tree is
    cut to its features (:func:`soilbiome.io.newick.prune`: path lengths kept, the root kept
    where it is, as scikit-bio's ``shear`` keeps it)."""
    from soilbiome.io.biom_tree import feature_tree
    from soilbiome.io.newick import prune, to_newick

    tree = feature_tree(table, own_reader=True)  # every feature is a tip, or BiomError
    if tree is None:
        return False
    if {t.name for t in tree.tips()} != set(table.feature_ids):  # a subset table: prune
        text = to_newick(prune(tree, set(table.feature_ids)))
    else:
        text = table.tree.newick
    (folder / "tree.nwk").write_text(text.strip() + "\n", encoding="utf-8")
    return True


def _write_inputs(table: FeatureTable, folder: Path) -> None:
    """counts.tsv (features x samples), taxonomy.tsv, samples.tsv, sequences.tsv, tree.nwk."""
    import numpy as np

    def writer(name: str):  # noqa: ANN202
        handle = (folder / name).open("w", newline="", encoding="utf-8")
        return handle, csv.writer(handle, delimiter="\t", lineterminator="\n")

    by_feature = table.counts.T.tocsr()
    handle, out = writer("counts.tsv")
    with handle:
        out.writerow(["feature", *table.sample_ids])
        for i, feature in enumerate(table.feature_ids):
            row = np.zeros(len(table.sample_ids))
            start, end = by_feature.indptr[i], by_feature.indptr[i + 1]
            row[by_feature.indices[start:end]] = by_feature.data[start:end]
            out.writerow([feature, *(_number(v) for v in row)])
    handle, out = writer("taxonomy.tsv")
    with handle:
        ranks = list(table.taxonomy.columns)
        out.writerow(["feature", *(r.capitalize() for r in ranks)])
        for feature in table.feature_ids:
            out.writerow([feature, *(str(v) for v in table.taxonomy.loc[feature, ranks])])
    handle, out = writer("samples.tsv")
    with handle:
        md = table.sample_metadata
        out.writerow(["sample", *md.columns])
        for sample in table.sample_ids:
            values = md.loc[sample].tolist() if len(md.columns) else []
            out.writerow([sample, *("" if v is None or (isinstance(v, float) and np.isnan(v))
                                    else v for v in values)])
    handle, out = writer("sequences.tsv")
    with handle:
        out.writerow(["feature", "sequence"])
        seqs = table.observation_metadata.get("sequence") or [""] * len(table.feature_ids)
        for feature, seq in zip(table.feature_ids, seqs, strict=True):
            out.writerow([feature, seq or ""])
    _write_tree(table, folder)


def write_phyloseq(biom: str | Path, out: str | Path,
                   meanwhile: Callable[[FeatureTable], object] | None = None) -> Path:
    """Make ``out`` (.rds) from the BIOM table with R's phyloseq.

    The table is first read and validated with :func:`~soilbiome.io.biom_reader.read_table`.
    ``meanwhile(table)`` runs while R loads phyloseq (another export of the same table: the
    QIIME 2 files of ``export interop``); when it raises, R is stopped and nothing is written.

    Raises
    ------
    ToolError
        Rscript is missing or the R script failed (its message is included).
    """
    rscript = shutil.which("Rscript")
    if rscript is None:
        raise ToolError("the phyloseq export needs R with phyloseq: Rscript not found on PATH "
                        "(Debian: r-bioc-phyloseq r-bioc-rhdf5; docs/install.md)")
    out = Path(out)
    script = resources.files("soilbiome").joinpath("data", "phyloseq_export.R")
    # R writes a temp file beside --out, renamed into place only on success (a full disk or
    # SIGTERM -- which also stops R -- leaves nothing behind, see soilbiome.io.atomic).
    # R starts first: loading phyloseq (about 4 s) overlaps reading and validating the table
    # here; R goes on only when told "go" on its stdin, once the inputs are written, and stops
    # without writing anything when stdin closes without it (a table that failed validation).
    with (atomic_path(out) as dest, tempfile.TemporaryDirectory() as tmp,
          resources.as_file(script) as path):
        # R's JIT compiler off (unless the caller set R_ENABLE_JIT): loading phyloseq and its
        # 17 imports compiles closures nobody calls twice; without it the export took 3.5-3.6
        # s instead of 4.0-4.2 s on a 493-ASV table, and wrote the same bytes (docs/dada2.md)
        env = {**os.environ, "R_ENABLE_JIT": os.environ.get("R_ENABLE_JIT", "0")}
        proc = subprocess.Popen([rscript, "--vanilla", str(path), tmp, str(dest)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True, env=env)
        try:
            from soilbiome.io.biom_reader import read_table

            table = read_table(biom)  # validated before R sees it
            _write_inputs(table, Path(tmp))
            if meanwhile is not None:
                meanwhile(table)
        except BaseException:
            proc.kill()
            proc.communicate()
            raise
        stdout, stderr = proc.communicate("go\n")
        if proc.returncode != 0 or not dest.stat().st_size:
            text = (stderr or stdout).strip()
            if any(word in text for word in ("No space left", "File too large",
                                             "Disk quota exceeded")):
                raise DiskFullError(out)
            tail = text.splitlines()[-3:]
            raise ToolError(f"phyloseq export failed: {' '.join(tail)}", location=str(biom))
    return out
