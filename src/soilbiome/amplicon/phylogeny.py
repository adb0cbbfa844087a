"""ASV phylogeny: MAFFT alignment, QIIME 2's mask, FastTree tree, midpoint root.

The de novo tree of an amplicon study made as QIIME 2's ``align-to-tree-mafft-fasttree`` makes
it with its defaults (q2-phylogeny; also the tree nf-core/ampliseq's QIIME 2 route makes), so
that UniFrac and Faith's PD of a soilbiome table compare with those of a partner's QIIME 2
table: the ASV sequences are aligned with MAFFT's progressive FFT-NS-2 (``--retree 2
--maxiterate 0``, MAFFT's own default and QIIME 2's); the alignment is masked as q2-alignment's
``mask`` does by default (:func:`mask_alignment`); a maximum-likelihood tree is built with
FastTree's default nucleotide model (``-nt``: Jukes-Cantor with 20 CAT rate categories, as
QIIME 2 calls it) and rooted at the midpoint of its longest tip-to-tip path. Tips are the
feature IDs, so the tree goes with the BIOM table (dataset ``/soilbiome/phylogeny``) and feeds
UniFrac and Faith's PD. docs/dada2.md "Phylogeny" has the figures behind these choices.
"""

from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from soilbiome.errors import InputError, ToolError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.biom_inputs import read_counts


def _run(cmd: list[str], stdout: Path) -> None:
    with stdout.open("w") as handle:
        proc = subprocess.run(cmd, stdout=handle, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        tail = " ".join(proc.stderr.strip().splitlines()[-3:])
        raise ToolError(f"{cmd[0]} failed (exit {proc.returncode}): {tail}")


def midpoint_rooted(newick: str) -> str:
    """Root a Newick tree at the midpoint of its longest tip-to-tip path.

    Trees with fewer than three tips are returned unchanged (their midpoint is their root).
    Done by :func:`soilbiome.io.newick.midpoint_root` (root-to-tip distances equal
    scikit-bio's ``root_at_midpoint`` within 2e-15, ``tests/test_newick.py``), without
    importing scikit-bio: 0.7 s less on the run's critical path.
    """
    from soilbiome.io.newick import midpoint_root, parse, to_newick

    return to_newick(midpoint_root(parse(newick))) + "\n"


MASK_MAX_GAP_FREQUENCY = 1.0  # q2-alignment mask's defaults (align-to-tree-mafft-fasttree's)
MASK_MIN_CONSERVATION = 0.4
_GAPS = b"-."


def read_aligned(path: str | Path) -> tuple[list[str], list[bytes]]:
    """Names and upper-case sequences of an aligned FASTA (MAFFT's output: wrapped lines)."""
    names: list[str] = []
    parts: list[list[bytes]] = []
    with open(path, "rb") as handle:
        for line in handle:
            line = line.strip()
            if line.startswith(b">"):
                names.append(line[1:].decode())
                parts.append([])
            elif line:
                parts[-1].append(line.upper())
    return names, [b"".join(p) for p in parts]


def mask_alignment(seqs: list[bytes], max_gap_frequency: float = MASK_MAX_GAP_FREQUENCY,
                   min_conservation: float = MASK_MIN_CONSERVATION) -> list[bytes]:
    """The alignment with the columns QIIME 2's ``alignment mask`` removes left out.

    A column stays when its share of gaps (``-`` or ``.``) is at most ``max_gap_frequency``
    and its conservation -- the count of its most frequent non-gap character over its non-gap
    characters, 0 for an all-gap column -- is at least ``min_conservation``. Same rule as
    q2-alignment's ``mask`` (gap and conservation masks combined); written here with numpy,
    one pass per character present.

    Raises
    ------
    ToolError
        The sequences differ in length (not an alignment), or no column is left.
    """
    import numpy as np

    if not seqs:
        return []
    width = len(seqs[0])
    if any(len(s) != width for s in seqs):
        raise ToolError("the ASV alignment has sequences of different lengths")
    grid = np.frombuffer(b"".join(seqs), dtype=np.uint8).reshape(len(seqs), width)
    gaps = np.isin(grid, np.frombuffer(_GAPS, dtype=np.uint8)).sum(axis=0)
    most = np.zeros(width, dtype=np.int64)
    for char in np.unique(grid):
        if bytes([char]) not in (b"-", b"."):
            np.maximum(most, (grid == char).sum(axis=0), out=most)
    present = len(seqs) - gaps
    conservation = np.divide(most, present, out=np.zeros(width), where=present > 0)
    keep = (gaps / len(seqs) <= max_gap_frequency) & (conservation >= min_conservation)
    if not keep.any():
        raise ToolError(f"no alignment column is left after masking (conservation >= "
                        f"{min_conservation}, gaps <= {max_gap_frequency}) of {width} columns")
    return [row.tobytes() for row in grid[:, keep]]


def build_tree(counts_path: str | Path, out: str | Path, threads: int = 1) -> int:
    """Align the ASVs of ``asv_counts.tsv``, build and midpoint-root their tree.

    Parameters
    ----------
    counts_path : str or Path
        ``asv_counts.tsv`` (feature_id, sequence, samples).
    out : str or Path
        Newick file to write (atomically); tips are the feature IDs.
    threads : int
        MAFFT threads.

    Returns
    -------
    int
        Number of tips. With no ASV, nothing is written and 0 is returned.
    """
    counts = read_counts(counts_path)
    if not counts.feature_ids:
        return 0
    if threads < 1:
        raise InputError(f"threads must be >= 1, got {threads}")
    with tempfile.TemporaryDirectory(prefix="soilbiome-tree-") as tmp:
        fasta = Path(tmp) / "asv.fasta"
        fasta.write_text("".join(f">{f}\n{s}\n" for f, s in
                                 zip(counts.feature_ids, counts.sequences, strict=True)))
        aligned = Path(tmp) / "aligned.fasta"
        # FFT-NS-2, not --auto: for 200-2,000 sequences --auto picks the iterative FFT-NS-i,
        # 9x the time (5.4 s against 0.6 s for 493 ASVs) for a tree whose tip-to-tip
        # distances correlate at 0.993 with FFT-NS-2's (docs/dada2.md "Phylogeny")
        _run(["mafft", "--retree", "2", "--maxiterate", "0", "--thread", str(threads),
              "--quiet", str(fasta)], aligned)
        names, seqs = read_aligned(aligned)
        masked = Path(tmp) / "masked.fasta"
        masked.write_bytes(b"".join(b">%s\n%s\n" % (n.encode(), s)
                                    for n, s in zip(names, mask_alignment(seqs), strict=True)))
        unrooted = Path(tmp) / "unrooted.nwk"
        _run(["FastTree", "-nt", "-quiet", "-nopr", str(masked)], unrooted)
        rooted = midpoint_rooted(unrooted.read_text())
    with atomic_write(out) as handle:
        handle.write(rooted)
    return len(counts.feature_ids)
