#!/usr/bin/env python3
"""UniFrac: soilbiome's engine against Striped UniFrac (``ssu``, Debian ``unifrac-tools``).

One run generates a seeded table (default 1,000 samples x 5,000 features at 5% density,
integer counts 1..99) and a random rooted 5,000-tip tree (a coalescent: random pairs of
lineages joined until one is left, branch lengths uniform on 0.01..0.5, rounded to single
precision: ssu 1.2 keeps branch lengths in single precision, so with other lengths its values
differ from scikit-bio's and ours by up to ~1e-8, see docs/diversity.md), writes them as BIOM 2.1
and Newick, and for each of unweighted, weighted (unnormalised) and weighted normalised
UniFrac prints:

* ``ssu`` wall time (``-m <method>_fp64 --pcoa 0 -r hdf5_fp64``: double precision, no PCoA,
  a binary matrix; the whole command, reading the BIOM and tree included),
* soilbiome's wall time (Newick parsed, the tree set up, the matrix computed; numba compiled
  once beforehand and timed apart; unweighted UniFrac runs on the C kernels of
  ``soilbiome.diversity.native`` where they are built),
* the largest absolute difference between the two matrices and the speed ratio;

then Faith's PD of every sample against ``faithpd`` (Stacked Faith, unifrac-tools) and
scikit-bio's ``faith_pd``; then the values on the same tree with its lengths written to 5
decimals (as FastTree writes them), against ssu, with soilbiome reading them as written and
in single precision (``--branch-lengths single``, as ssu reads them); and then, end to end
as a user times them, ``ssu`` (text output) against ``soilbiome beta matrix`` in fresh
processes (start-up and reading the files included).

Each side runs ``--repeat`` times (default 3), alternately so that both meet the same load
on a shared machine; the ratio is that of the best runs, and the worst-case ratio (best ssu
run over the slowest of ours) is printed beside it.

Both use every core (``OMP_NUM_THREADS`` unset; numba's default threads). Usage::

    .venv/bin/python bench/bench_unifrac.py [--samples 1000] [--features 5000] [--density 0.05]
        [--tree random|balanced|caterpillar] [--counts uniform|lognormal] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py
import numpy as np
from scipy import sparse

METHODS = {"unweighted_unifrac": "unweighted", "weighted_unifrac": "weighted_unnormalized",
           "weighted_normalized_unifrac": "weighted_normalized"}


def random_tree(names: list[str], seed: int, shape: str = "random") -> str:
    """Newick of a rooted binary tree over ``names``: ``random`` (a coalescent: random pairs
    of lineages joined), ``balanced`` (neighbours joined level by level) or ``caterpillar``
    (each tip joined to the tree of the previous ones: depth = number of tips)."""
    rng = np.random.default_rng(seed)

    def length() -> str:  # exactly representable in single precision (see the docstring)
        return repr(float(np.float32(rng.uniform(0.01, 0.5))))

    lineages = [f"{n}:{length()}" for n in names]
    if shape == "caterpillar":
        parts = ["(" * (len(names) - 1), lineages[0]]
        parts += [f",{x}):{length()}" for x in lineages[1:]]
        return "".join(parts).rsplit(":", 1)[0] + ";"
    while len(lineages) > 1:
        if shape == "balanced":
            odd = lineages[-1:] if len(lineages) % 2 else []
            even = lineages[:len(lineages) - len(odd)]
            lineages = [f"({a},{b}):{length()}"
                        for a, b in zip(even[::2], even[1::2], strict=True)] + odd
            continue
        i, j = sorted(rng.choice(len(lineages), 2, replace=False))
        b = lineages.pop(j)
        a = lineages.pop(i)
        lineages.append(f"({a},{b}):{length()}")
    return lineages[0].rsplit(":", 1)[0] + ";"


def random_table(n: int, p: int, density: float, seed: int,
                 counts: str = "uniform") -> sparse.csr_matrix:
    """Seeded samples x features counts: ``uniform`` 1..99, or ``lognormal`` (rounded
    ``exp(N(0, 2))``, at least 1: about 40% singletons and a long tail, as amplicon reads)."""
    rng = np.random.default_rng(seed)

    def values(k: int) -> np.ndarray:
        if counts == "lognormal":
            return np.maximum(1.0, np.round(rng.lognormal(0.0, 2.0, k)))
        return rng.integers(1, 100, k).astype(np.float64)

    m = sparse.random(n, p, density=density, random_state=rng, format="csr", data_rvs=values)
    m.sort_indices()
    return m


def write_biom(m: sparse.csr_matrix, samples: list[str], features: list[str],
               path: Path) -> None:
    from biom import Table

    with h5py.File(path, "w") as f:
        Table(m.T.tocsr(), features, samples).to_hdf5(f, "bench_unifrac", compress=False)


def run_ssu(ssu: str, biom: Path, tree: Path, method: str, out: Path,
            samples: list[str]) -> tuple[float, np.ndarray]:
    t = time.perf_counter()
    proc = subprocess.run([ssu, "-i", str(biom), "-t", str(tree), "-m", f"{method}_fp64",
                           "-o", str(out), "--pcoa", "0", "-r", "hdf5_fp64"],
                          capture_output=True, text=True)
    seconds = time.perf_counter() - t
    if proc.returncode != 0:
        raise SystemExit(f"ssu failed: {proc.stderr}")
    with h5py.File(out, "r") as f:
        order = [x.decode() if isinstance(x, bytes) else str(x) for x in f["order"][()]]
        matrix = f["matrix"][()]
    pos = {s: k for k, s in enumerate(order)}
    idx = np.array([pos[s] for s in samples])
    return seconds, matrix[np.ix_(idx, idx)]


def line(label: str, value: str, note: str = "") -> None:
    print(f"{label:<52} {value:>12}  {note}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--features", type=int, default=5000)
    ap.add_argument("--density", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--repeat", type=int, default=3,
                    help="runs of each side, alternately; the best of each is compared")
    ap.add_argument("--tree", choices=("random", "balanced", "caterpillar"), default="random",
                    help="tree shape (default: random coalescent)")
    ap.add_argument("--counts", choices=("uniform", "lognormal"), default="uniform",
                    help="count distribution (default: uniform 1..99)")
    ap.add_argument("--network", type=int, default=0, metavar="N",
                    help="instead: one off-diagonal block (N/8 x N/8 samples) of an N-sample "
                         "table, per metric, in a fresh process: time, peak memory and the "
                         "projected total of the 36 blocks of `beta plan --blocks 8`")
    args = ap.parse_args()
    if args.network:
        return network(args)
    ssu = shutil.which("ssu")
    if ssu is None:
        raise SystemExit("ssu not found: apt-get install unifrac-tools (runtime/packages.txt)")
    from skbio import TreeNode

    from soilbiome.diversity.beta import Distances, sparse_beta
    from soilbiome.diversity.unifrac import Phylogeny

    n, p = args.samples, args.features
    samples = [f"S{i:05d}" for i in range(n)]
    features = [f"F{j:05d}" for j in range(p)]
    m = random_table(n, p, args.density, args.seed, args.counts)
    empty = np.flatnonzero(np.diff(m.indptr) == 0)
    m = m.tolil()
    for i in empty:  # every sample holds at least one feature
        m[i, int(i) % p] = 1.0
    m = m.tocsr()
    print(f"# bench_unifrac: {n} samples x {p} features at {args.density:.0%} (nnz {m.nnz}), "
          f"{p}-tip {args.tree} tree, {args.counts} counts; {os.cpu_count()} cores, "
          f"load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine: other jobs run)",
          flush=True)
    with tempfile.TemporaryDirectory(prefix="bench-unifrac-") as tmp:
        tmp = Path(tmp)
        biom, nwk = tmp / "t.biom", tmp / "tree.nwk"
        write_biom(m, samples, features, biom)
        nwk.write_text(random_tree(features, args.seed, args.tree))
        small = Phylogeny.of(TreeNode.read(str(nwk)), features)
        t = time.perf_counter()
        for metric in METHODS:
            sparse_beta(m[:5], metric, small)
        line("numba compile / cache load (once per install)", f"{time.perf_counter() - t:.2f} s")
        totals = [0.0, 0.0]
        for metric, method in METHODS.items():
            runs_ssu, runs_ours = [], []
            for _ in range(args.repeat):  # alternately, so that both see the same load
                t_ssu, ref = run_ssu(ssu, biom, nwk, method, tmp / f"{method}.h5", samples)
                runs_ssu.append(t_ssu)
                t = time.perf_counter()
                phylo = Phylogeny.of(TreeNode.read(str(nwk)), features)
                ours = Distances(tuple(samples), sparse_beta(m, metric, phylo)).data
                runs_ours.append(time.perf_counter() - t)
            t_ssu, t_ours = min(runs_ssu), min(runs_ours)
            totals[0] += t_ssu
            totals[1] += t_ours
            diff = float(np.abs(ours - ref).max())
            print(f"\n## {metric} (ssu -m {method}_fp64)", flush=True)
            line("ssu (Striped UniFrac, libssu)", f"{t_ssu:.2f} s",
                 f"best of {' '.join(f'{x:.2f}' for x in runs_ssu)}")
            line("soilbiome (tree parsed + set up + all pairs)", f"{t_ours:.2f} s",
                 f"best of {' '.join(f'{x:.2f}' for x in runs_ours)}")
            line("speed vs ssu (best runs)", f"{t_ssu / t_ours:.2f}x",
                 f"{'MET' if t_ours <= t_ssu else 'MISSED'} (target >= 1x); worst run "
                 f"{min(runs_ssu) / max(runs_ours):.2f}x")
            line("max |soilbiome - ssu|", f"{diff:.1e}",
                 f"{'MET' if diff <= 1e-9 else 'MISSED'} (target <= 1e-9)")
        print("\n## all three", flush=True)
        line("ssu / soilbiome total", f"{totals[0]:.2f} / {totals[1]:.2f} s",
             f"{totals[0] / totals[1]:.2f}x")
        faith(m, samples, features, biom, nwk, tmp, args.repeat)
        decimal_lengths(ssu, m, samples, features, biom, nwk, tmp)
        command_lines(ssu, biom, nwk, tmp, args.repeat)


def faith(m: sparse.csr_matrix, samples: list[str], features: list[str], biom: Path,
          nwk: Path, tmp: Path, repeat: int) -> None:
    """Faith's PD of every sample: ``faithpd`` (Stacked Faith, unifrac-tools; the whole
    command) and scikit-bio's ``faith_pd`` against soilbiome's (the Newick parsed, the tree set
    up, every sample), alternately, best of ``repeat``, with the largest difference."""
    from soilbiome.diversity.common import SparseCounts
    from soilbiome.diversity.phylo import faith_pd
    from soilbiome.diversity.unifrac import tree_arrays
    from soilbiome.io.newick import parse_flat

    tool = shutil.which("faithpd")
    if tool is None:
        print("\n## Faith's PD: faithpd not found (unifrac-tools)", flush=True)
        return
    print("\n## Faith's PD of every sample", flush=True)
    counts = SparseCounts(m, tuple(samples), tuple(features), True)
    out = tmp / "faith.tsv"
    runs_tool, runs_ours = [], []
    for _ in range(repeat):
        t = time.perf_counter()
        proc = subprocess.run([tool, "-i", str(biom), "-t", str(nwk), "-o", str(out)],
                              capture_output=True, text=True)
        runs_tool.append(time.perf_counter() - t)
        if proc.returncode != 0:
            raise SystemExit(f"faithpd failed: {proc.stderr}")
        t = time.perf_counter()
        ours = faith_pd(counts, tree_arrays(parse_flat(nwk.read_text())))
        runs_ours.append(time.perf_counter() - t)
    ref = {}
    with out.open() as handle:
        next(handle)
        for row in handle:
            sample, value = row.rstrip("\n").split("\t")
            ref[sample] = float(value)
    diff = max(abs(ref[s] - v) for s, v in ours.items())
    from skbio import TreeNode
    from skbio.diversity import alpha_diversity

    t = time.perf_counter()
    sk = alpha_diversity("faith_pd", m.toarray().astype(np.int64), ids=samples,
                         taxa=features, tree=TreeNode.read(str(nwk)))
    t_sk = time.perf_counter() - t
    diff_sk = float(np.abs(sk.to_numpy() - ours.loc[sk.index].to_numpy()).max())
    t_tool, t_ours = min(runs_tool), min(runs_ours)
    line("faithpd (Stacked Faith, whole command)", f"{t_tool:.2f} s",
         f"best of {' '.join(f'{x:.2f}' for x in runs_tool)}")
    line("scikit-bio alpha_diversity('faith_pd') (one run)", f"{t_sk:.2f} s")
    line("soilbiome (tree parsed + set up + every sample)", f"{t_ours:.2f} s",
         f"best of {' '.join(f'{x:.2f}' for x in runs_ours)}")
    line("speed vs faithpd / vs scikit-bio", f"{t_tool / t_ours:.2f}x / {t_sk / t_ours:.1f}x")
    line("max |soilbiome - faithpd| / - scikit-bio", f"{diff:.1e} / {diff_sk:.1e}")


def decimal_lengths(ssu: str, m: sparse.csr_matrix, samples: list[str], features: list[str],
                    biom: Path, nwk: Path, tmp: Path) -> None:
    """Values on the same tree with its lengths written to 5 decimals, as FastTree writes
    them (not single-precision values): ssu reads each with ``std::stof``, so it is compared
    with ours on the lengths as written (``--branch-lengths double``, the default) and rounded
    to single precision (``--branch-lengths single``)."""
    import re

    from soilbiome.diversity.beta import Distances, sparse_beta
    from soilbiome.diversity.unifrac import Phylogeny
    from soilbiome.io.newick import parse_flat

    text = re.sub(r":([0-9.eE+-]+)", lambda x: f":{float(x.group(1)):.5f}", nwk.read_text())
    decimal = tmp / "tree5.nwk"
    decimal.write_text(text)
    print("\n## values on the tree with 5-decimal lengths (as FastTree writes them)",
          flush=True)
    tree = parse_flat(text)
    for metric, method in METHODS.items():
        _, ref = run_ssu(ssu, biom, decimal, method, tmp / f"{method}5.h5", samples)
        diffs = []
        for lengths in ("double", "single"):
            ours = sparse_beta(m, metric, Phylogeny.of(tree, features, lengths))
            square = Distances(tuple(samples), ours).data
            diffs.append(float(np.abs(square - ref).max()))
        line(f"{metric}: max |ours - ssu|, double / single",
             f"{diffs[0]:.1e} / {diffs[1]:.1e}",
             f"single {'MET' if diffs[1] <= 1e-9 else 'MISSED'} (target <= 1e-9); double "
             "differs by ssu's single-precision lengths")


def _read_square(path: Path) -> tuple[list[str], np.ndarray]:
    """An lsmat / ssu ascii matrix: the IDs and the values."""
    with path.open() as handle:
        ids = handle.readline().rstrip("\n").split("\t")[1:]
        values = np.loadtxt(handle, delimiter="\t", usecols=range(1, len(ids) + 1), ndmin=2)
    return ids, values


def command_lines(ssu: str, biom: Path, nwk: Path, tmp: Path, repeat: int) -> None:
    """End to end, as a user times the two commands on the same two files: a fresh process
    each (start-up, reading the BIOM table and the tree, the matrix, writing it as text):
    ``ssu -m <method>_fp64 --pcoa 0`` (its default text output) against ``soilbiome beta
    matrix --no-rarefaction``, alternately, best of ``repeat``, with peak resident memory."""
    print("\n## end to end: `ssu` against `soilbiome beta matrix` (fresh processes, text "
          "output)", flush=True)

    # a small launcher process times the command and takes its peak memory from wait4: a
    # child forked from this (large) process would count this process's pages as its own
    launcher = (
        "import json, os, subprocess, sys, time\n"
        "t = time.perf_counter()\n"
        "p = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL)\n"
        "_, status, usage = os.wait4(p.pid, 0)\n"
        "print(json.dumps([time.perf_counter() - t, os.waitstatus_to_exitcode(status), "
        "usage.ru_maxrss / 1024]))\n")

    def timed(cmd: list[str]) -> tuple[float, float]:
        """Wall seconds and peak resident MB of one command."""
        import json

        proc = subprocess.run([sys.executable, "-c", launcher, *cmd], capture_output=True,
                              text=True)
        seconds, code, peak = json.loads(proc.stdout.strip().splitlines()[-1])
        if code != 0:
            raise SystemExit(f"{cmd[0]} failed: {proc.stderr}")
        return seconds, peak

    for metric, method in METHODS.items():
        a, b = tmp / f"{method}.ssu.txt", tmp / f"{method}.ours.tsv"
        runs_ssu, runs_ours = [], []
        for _ in range(repeat):
            runs_ssu.append(timed([ssu, "-i", str(biom), "-t", str(nwk), "-m",
                                   f"{method}_fp64", "-o", str(a), "--pcoa", "0"]))
            runs_ours.append(timed([sys.executable, "-m", "soilbiome", "beta", "matrix",
                                    str(biom), "--metric", metric, "--tree", str(nwk),
                                    "--no-rarefaction", "--out", str(b)]))
        ids_a, va = _read_square(a)
        ids_b, vb = _read_square(b)
        order = [ids_a.index(x) for x in ids_b]
        diff = float(np.abs(va[np.ix_(order, order)] - vb).max())
        t_ssu, t_ours = min(r[0] for r in runs_ssu), min(r[0] for r in runs_ours)
        mem = (f"peak memory ssu {max(r[1] for r in runs_ssu):.0f} MB, soilbiome "
               f"{max(r[1] for r in runs_ours):.0f} MB")
        line(f"{metric}: ssu / soilbiome beta matrix", f"{t_ssu:.2f} / {t_ours:.2f} s",
             f"{t_ssu / t_ours:.2f}x; max |diff| {diff:.1e}; {mem}")


def network(args: argparse.Namespace) -> None:
    """One block of an ``N``-sample UniFrac, as ``soilbiome beta block`` computes it."""
    import json
    import textwrap

    n, p = args.network, args.features
    features = [f"F{j:05d}" for j in range(p)]
    m = random_table(n, p, args.density, args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-unifrac-") as tmp:
        tmp = Path(tmp)
        sparse.save_npz(tmp / "t.npz", m, compressed=False)
        (tmp / "tree.nwk").write_text(random_tree(features, args.seed))
        size = n // 8
        print(f"# bench_unifrac --network {n}: one block {size} x {size} (rows 0:{size}, "
              f"cols {size}:{2 * size}) of {n} x {p} at {args.density:.0%}, {p}-tip tree; "
              f"{os.cpu_count()} cores, load average "
              f"{' '.join(f'{x:.1f}' for x in os.getloadavg())}", flush=True)
        code = textwrap.dedent("""
            import json, resource, sys, time
            from scipy import sparse
            from skbio import TreeNode
            from soilbiome.diversity.beta import beta_block
            from soilbiome.diversity.unifrac import Phylogeny
            m = sparse.load_npz(sys.argv[1]).tocsr()
            features = [f"F{j:05d}" for j in range(m.shape[1])]
            s = int(sys.argv[4])
            phylo = Phylogeny.of(TreeNode.read(sys.argv[2]), features)
            beta_block(m[:40], (0, 20), (20, 40), sys.argv[3], phylo)
            t = time.perf_counter()
            v = beta_block(m, (0, s), (s, 2 * s), sys.argv[3], phylo)
            print(json.dumps({"seconds": time.perf_counter() - t, "shape": list(v.shape),
                              "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                              / 1024}))
        """)
        for metric in METHODS:
            out = subprocess.run([sys.executable, "-c", code, str(tmp / "t.npz"),
                                  str(tmp / "tree.nwk"), metric, str(size)],
                                 capture_output=True, text=True)
            if out.returncode != 0:
                raise SystemExit(out.stderr)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            line(f"{metric}: one {size} x {size} block", f"{r['seconds']:.1f} s",
                 f"peak {r['peak_mb'] / 1024:.2f} GB; 36 blocks <= {36 * r['seconds'] / 60:.0f} "
                 "min of one task slot")


if __name__ == "__main__":
    sys.exit(main())
