#!/usr/bin/env python3
"""Benchmark of the sparse diversity engine against scikit-bio: every figure of issue 8.

One run prints, with the issue's targets and the measured ratios:

1. 2,000 samples x 5,000 features at 5% density (random integer counts, fixed seed):
   Bray-Curtis and Jaccard with scikit-bio's ``beta_diversity`` on the C-ordered dense array
   and with our engine (after the one-off numba compile/cache load, which is timed apart);
   alpha indices and rarefaction next to our Bray-Curtis time.
2. ``soilbiome diversity`` end to end on that table written as BIOM 2.1 (every output), in a
   fresh process, against scikit-bio's Bray-Curtis call alone.
3. 20,000 x 50,000 at 1%: Bray-Curtis time and peak resident memory of a fresh process that
   loads the sparse table from disk and computes the condensed matrix.
4. PERMANOVA with 999 permutations on the 2,000 samples (4 groups) against scikit-bio's.

Each heavy measurement runs in its own child process; peak memory is that child's
``ru_maxrss``. Usage::

    .venv/bin/python bench/bench_diversity.py [--skip-large]
    .venv/bin/python bench/bench_diversity.py --end-to-end   # issue 19: section 2 only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]
SOILBIOME = ROOT / ".venv" / "bin" / "soilbiome"


def random_counts(n: int, p: int, density: float, seed: int) -> sparse.csr_matrix:
    """Seeded random integer counts (1..99) at ``density``, samples x features, CSR."""
    rng = np.random.default_rng(seed)
    m = sparse.random(n, p, density=density, random_state=rng, format="csr",
                      data_rvs=lambda k: rng.integers(1, 100, k).astype(np.float64))
    m.sort_indices()
    return m


def child(code: str, *args: str) -> dict:
    """Run ``code`` in a fresh Python; it prints one JSON line; add the child's peak RSS."""
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(code), *args],
                            stdout=subprocess.PIPE, text=True)
    _, status, ru = os.wait4(proc.pid, 0)
    out = proc.stdout.read()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"child failed:\n{out}")
    result = json.loads(out.strip().splitlines()[-1])
    result["peak_mb"] = ru.ru_maxrss / 1024
    return result


def best(fn, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def write_biom(m: sparse.csr_matrix, path: Path) -> None:
    import h5py
    from biom import Table

    samples = [f"S{i:05d}" for i in range(m.shape[0])]
    features = [f"F{j:06d}" for j in range(m.shape[1])]
    md = [{"site": f"site{i % 4}"} for i in range(m.shape[0])]
    table = Table(m.T.tocsr(), features, samples, sample_metadata=md)
    with h5py.File(path, "w") as f:
        table.to_hdf5(f, "bench_diversity", compress=False)


def line(label: str, value: str, target: str = "", verdict: str = "") -> None:
    print(f"{label:<58} {value:>16}  {target:<26} {verdict}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--skip-large", action="store_true", help="skip 20,000 x 50,000")
    ap.add_argument("--only-large", action="store_true", help="only 20,000 x 50,000")
    ap.add_argument("--end-to-end", action="store_true",
                    help="only scikit-bio's Bray-Curtis and `soilbiome diversity` (section 2)")
    args = ap.parse_args()
    from skbio.diversity import beta_diversity as skbio_beta
    from skbio.stats.distance import permanova as skbio_permanova

    from soilbiome.diversity import alpha_diversity, as_sparse, rarefy, sparse_beta
    from soilbiome.diversity.beta import Distances
    from soilbiome.diversity.stats import permanova

    print(f"# bench_diversity on {os.cpu_count()} cores; load average "
          f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} (shared machine: other jobs run)")
    if args.only_large:
        with tempfile.TemporaryDirectory(prefix="bench-div-") as tmp:
            large(Path(tmp))
        return
    m = random_counts(2000, 5000, 0.05, seed=42)
    print(f"\n## 1. 2,000 x 5,000 at 5% (nnz {m.nnz})", flush=True)
    dense = np.ascontiguousarray(m.toarray())
    ids = [f"S{i:05d}" for i in range(m.shape[0])]
    t = time.perf_counter()
    sparse_beta(m[:10], "braycurtis")
    sparse_beta(m[:10], "jaccard")
    line("numba compile / cache load (once per install)", f"{time.perf_counter() - t:.2f} s")
    t_sk_bc = best(lambda: skbio_beta("braycurtis", dense, ids=ids), repeat=1)
    line("scikit-bio Bray-Curtis (dense C array)", f"{t_sk_bc:.3f} s")
    t_bc = best(lambda: sparse_beta(m, "braycurtis"))
    line("soilbiome Bray-Curtis (best of 3)", f"{t_bc:.3f} s", ">= 30x faster",
         f"{t_sk_bc / t_bc:.1f}x {'MET' if t_sk_bc / t_bc >= 30 else 'MISSED'}")
    if args.end_to_end:
        with tempfile.TemporaryDirectory(prefix="bench-div-") as tmp:
            end_to_end(m, Path(tmp), t_sk_bc)
        return
    binary = np.ascontiguousarray((dense > 0).astype(np.int64))
    t_sk_j = best(lambda: skbio_beta("jaccard", binary, ids=ids), repeat=1)
    line("scikit-bio Jaccard (binary dense array)", f"{t_sk_j:.3f} s")
    t_j = best(lambda: sparse_beta(m, "jaccard"))
    line("soilbiome Jaccard (best of 3)", f"{t_j:.3f} s", ">= 30x faster",
         f"{t_sk_j / t_j:.1f}x {'MET' if t_sk_j / t_j >= 30 else 'MISSED'}")
    line("soilbiome Jaccard / Bray-Curtis", f"{t_j / t_bc:.2f}", "(skbio: 2.6)")

    sc = as_sparse(m)
    t_alpha = best(lambda: alpha_diversity(sc))
    line("soilbiome alpha (5 indices, non-zeros only)", f"{t_alpha:.3f} s",
         "", f"{t_alpha / t_bc:.2f}x our Bray-Curtis")
    depth = int(sc.totals.min())
    t_rare = best(lambda: rarefy(sc, depth, seed=1), repeat=1)
    line(f"soilbiome rarefy to {depth} (non-zeros only)", f"{t_rare:.3f} s",
         "", f"{t_rare / t_bc:.2f}x our Bray-Curtis")

    with tempfile.TemporaryDirectory(prefix="bench-div-") as tmp:
        tmp = Path(tmp)
        biom_path = tmp / "t.biom"
        write_biom(m, biom_path)
        end_to_end(m, tmp, t_sk_bc, biom_path)
        t = time.perf_counter()
        r2 = subprocess.run([str(SOILBIOME), "diversity", str(biom_path), "--outdir",
                             str(tmp / "out2"), "--group-by", "site", "--permutations", "999"],
                            capture_output=True, text=True)
        t_cmd_g = time.perf_counter() - t if r2.returncode == 0 else None
        if t_cmd_g is not None:
            line("  same + --group-by site (PERMANOVA+PERMDISP 999)", f"{t_cmd_g:.2f} s",
                 "(not a target)", f"{t_cmd_g / t_sk_bc:.2f}x skbio BC")

        print("\n## 4. PERMANOVA 999 permutations, 2,000 samples, 4 groups", flush=True)
        dm = Distances(tuple(ids), sparse_beta(m, "braycurtis"))
        groups = pd.Series([f"g{i % 4}" for i in range(len(ids))], index=ids, name="site")
        permanova(dm, groups, permutations=9)  # compile
        t_perm = best(lambda: permanova(dm, groups, permutations=999, seed=1), repeat=1)
        skdm = dm.to_skbio()
        t_skperm = best(lambda: skbio_permanova(skdm, groups, permutations=999, seed=1),
                        repeat=1)
        line("scikit-bio permanova", f"{t_skperm:.2f} s")
        line("soilbiome permanova", f"{t_perm:.2f} s", ">= 5x faster",
             f"{t_skperm / t_perm:.1f}x {'MET' if t_skperm / t_perm >= 5 else 'MISSED'}")

        if not args.skip_large:
            large(tmp)


def end_to_end(m: sparse.csr_matrix, tmp: Path, t_sk_bc: float,
               biom_path: Path | None = None) -> float:
    """Section 2: ``soilbiome diversity`` on ``m`` in a fresh process, against ``t_sk_bc``."""
    if biom_path is None:
        biom_path = tmp / "t.biom"
        write_biom(m, biom_path)
    print("\n## 2. soilbiome diversity end to end (fresh process, every output)", flush=True)
    t = time.perf_counter()
    r = subprocess.run([str(SOILBIOME), "diversity", str(biom_path), "--outdir",
                        str(tmp / "out")], capture_output=True, text=True)
    t_cmd = time.perf_counter() - t
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    size = sum(f.stat().st_size for f in (tmp / "out").iterdir()) / 1e6
    line("scikit-bio Bray-Curtis call alone (from section 1)", f"{t_sk_bc:.2f} s")
    line("soilbiome diversity t.biom (rarefied, BC+Jaccard+PCoA)", f"{t_cmd:.2f} s",
         "<= 1x skbio BC call",
         f"{t_cmd / t_sk_bc:.2f}x {'MET' if t_cmd <= t_sk_bc else 'MISSED'}")
    line("  outputs written", f"{size:.1f} MB")
    return t_cmd


def large(tmp: Path) -> None:
    """Section 3: 20,000 x 50,000 at 1% in a fresh process (time and peak memory)."""
    big = random_counts(20000, 50000, 0.01, seed=7)
    sparse.save_npz(tmp / "big.npz", big, compressed=False)
    nnz = big.nnz
    del big
    res = child("""
        import json, sys, time
        from scipy import sparse
        from soilbiome.diversity import sparse_beta
        m = sparse.load_npz(sys.argv[1]).tocsr()
        sparse_beta(m[:10], "braycurtis")
        t = time.perf_counter()
        d = sparse_beta(m, "braycurtis")
        print(json.dumps({"seconds": time.perf_counter() - t, "n": int(d.size)}))
    """, str(tmp / "big.npz"))
    print(f"\n## 3. 20,000 x 50,000 at 1% (nnz {nnz}), fresh process", flush=True)
    line("soilbiome Bray-Curtis (condensed, 2e8 values)", f"{res['seconds']:.1f} s",
         "< 40 s", "MET" if res["seconds"] < 40 else "MISSED")
    line("  peak resident memory (load + compute)", f"{res['peak_mb'] / 1024:.2f} GB",
         "< 3 GB", "MET" if res["peak_mb"] < 3 * 1024 else "MISSED")

if __name__ == "__main__":
    main()
