#!/usr/bin/env python3
"""A network-sized UniFrac through ``soilbiome beta plan | block | assemble``, as tasks do it.

Generates the seeded table of ``bench_unifrac.py`` (default 20,000 samples x 5,000 features at
5%, every sample non-empty) and its random 5,000-tip tree, writes them as BIOM 2.1 and
Newick, then for each metric runs ``beta plan --blocks K`` (default 8: 36 blocks), every
``beta block`` as its own process one after another (the way a scheduler would run them, one
task slot) and ``beta assemble`` into HDF5 (no TSV: 20,000^2 values as text is a 7 GB file).
Prints per metric the summed and largest block time, the largest peak resident memory of a
block and of the assembly, and checks 40 rows of the assembled matrix against one direct
``beta_block`` of the same rows (bit for bit; self-distances left out, which that straddling
block computes as ~1e-15 rather than 0). Usage::

    .venv/bin/python bench/bench_unifrac_blocks.py [--samples 20000] [--blocks 8] \\
        [--metrics unweighted_unifrac,weighted_normalized_unifrac]
"""

from __future__ import annotations

import argparse
import csv
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_unifrac import random_table, random_tree, write_biom  # noqa: E402

SOILBIOME = Path(sys.executable).parent / "soilbiome"


#: Runs one command and prints its peak resident memory (KB). A small process of its own
#: starts it: a child's ``ru_maxrss`` counts the memory of the process it was forked from.
PEAK = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:], "
        "stdout=subprocess.DEVNULL); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")


def run(args: list[str]) -> tuple[float, float]:
    """Wall seconds and peak resident GB of one ``soilbiome`` process."""
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", PEAK, str(SOILBIOME), *args],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"soilbiome {' '.join(args[:2])} failed: {proc.stderr}")
    return seconds, int(proc.stdout.split()[-1]) / 1024 / 1024


def check(table: Path, tree: Path, h5: Path, metric: str) -> str:
    import biom
    import h5py
    from skbio import TreeNode

    from soilbiome.diversity.beta import beta_block
    from soilbiome.diversity.unifrac import Phylogeny

    t = biom.load_table(str(table))
    m = t.matrix_data.T.tocsr().astype(float)
    phylo = Phylogeny.of(TreeNode.read(str(tree)), list(t.ids("observation")))
    r0 = m.shape[0] // 3
    with h5py.File(h5, "r") as f:
        rows = f["distances"][r0:r0 + 40, :]
    ref = beta_block(m, (r0, r0 + 40), (0, m.shape[0]), metric, phylo)
    off = np.ones(rows.shape, dtype=bool)
    off[np.arange(40), r0 + np.arange(40)] = False
    same = np.array_equal(rows[off], ref[off])
    return f"rows {r0}:{r0 + 40} x all equal to one direct block: {'yes' if same else 'NO'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=20000)
    ap.add_argument("--features", type=int, default=5000)
    ap.add_argument("--density", type=float, default=0.05)
    ap.add_argument("--blocks", type=int, default=8)
    ap.add_argument("--metrics", default="unweighted_unifrac,weighted_normalized_unifrac")
    ap.add_argument("--check", nargs=4, metavar=("TABLE", "TREE", "H5", "METRIC"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.check:
        table, tree, h5, metric = args.check
        print(check(Path(table), Path(tree), Path(h5), metric))
        return
    n, p = args.samples, args.features
    m = random_table(n, p, args.density, 1)
    keep = np.flatnonzero(np.diff(m.indptr) > 0)
    m = m[keep]
    features = [f"F{j:05d}" for j in range(p)]
    print(f"# bench_unifrac_blocks: {m.shape[0]} samples x {p} features at "
          f"{args.density:.0%}, {p}-tip random tree, {args.blocks} row ranges; "
          f"{os.cpu_count()} cores, load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-unifrac-blocks-") as tmp:
        tmp = Path(tmp)
        table, tree, plan = tmp / "t.biom", tmp / "tree.nwk", tmp / "plan.csv"
        write_biom(m, [f"S{i:05d}" for i in range(m.shape[0])], features, table)
        tree.write_text(random_tree(features, 1))
        common = ["--no-rarefaction"]
        run(["beta", "plan", str(table), "--blocks", str(args.blocks), "--out", str(plan),
             *common])
        rows = list(csv.DictReader(plan.open()))
        for metric in args.metrics.split(","):
            times, peaks, blocks = [], [], []
            for row in rows:
                out = tmp / f"{metric}_{row['block']}.npz"
                s, gb = run(["beta", "block", str(table), "--metric", metric, "--rows",
                             row["rows"], "--cols", row["cols"], "--tree", str(tree), "--out",
                             str(out), *common])
                times.append(s)
                peaks.append(gb)
                blocks.append(str(out))
            h5 = tmp / f"{metric}.h5"
            s_asm, gb_asm = run(["beta", "assemble", str(table), *blocks, "--metric", metric,
                                 "--plan", str(plan), "--tree", str(tree), "--out", str(h5),
                                 *common])
            checked = subprocess.run([sys.executable, __file__, "--check", str(table),
                                      str(tree), str(h5), metric],
                                     capture_output=True, text=True).stdout.strip()
            print(f"{metric}: {len(rows)} blocks {sum(times):.0f} s of task time (largest "
                  f"{max(times):.1f} s, peak {max(peaks):.2f} GB); assemble {s_asm:.0f} s, "
                  f"peak {gb_asm:.2f} GB; {checked or 'check FAILED'}", flush=True)
            for b in blocks:
                Path(b).unlink()


if __name__ == "__main__":
    sys.exit(main())
