"""Compile the diversity kernels once, at install time, instead of in a user's first run.

The compiled kernels (Bray-Curtis/Jaccard, PERMANOVA, UniFrac, Faith's PD) are numba functions
cached on disk (``cache=True``, beside their sources or in numba's user cache). Without a cache,
the first ``soilbiome diversity`` after an install spends about 25 s compiling them;
runtime/setup.sh and the container image call :func:`compile_kernels` so that this happens while
installing. (Unweighted UniFrac runs on the C kernels of :mod:`soilbiome.diversity.native`,
built when the package is installed; their numba fallback is compiled here too.)

It runs the same code path as ``soilbiome diversity`` (a sparse table with a tree and a
grouping column, rarefied, UniFrac on) on a small random table, so every kernel is compiled for
the argument types a real run passes; the outputs go to a temporary folder and are discarded.
"""

from __future__ import annotations

import tempfile
import time

__all__ = ["compile_kernels"]


def _caterpillar(tips: list[str]) -> str:
    """A rooted Newick tree over ``tips`` with distinct branch lengths."""
    text = f"{tips[0]}:0.1"
    for i, tip in enumerate(tips[1:], start=1):
        text = f"({text},{tip}:{0.1 + i / 100}):{0.05 + i / 200}"
    return text.rsplit(":", 1)[0] + ";"


def compile_kernels() -> float:
    """Run the diversity pipeline once on a small table; returns the seconds it took."""
    import numpy as np
    import pandas as pd
    from scipy import sparse

    from soilbiome.diversity import run_diversity
    from soilbiome.model.table import FeatureTable
    from soilbiome.model.tree import FeatureTree

    started = time.perf_counter()
    rng = np.random.default_rng(1)
    samples = tuple(f"S{i}" for i in range(8))
    features = tuple(f"F{i}" for i in range(12))
    counts = sparse.csr_matrix(rng.poisson(3.0, (len(samples), len(features))).astype(float)
                               + np.eye(len(samples), len(features)))
    counts.eliminate_zeros()
    counts.sort_indices()
    metadata = pd.DataFrame({"site": ["a", "b"] * 4}, index=list(samples))
    table = FeatureTable(samples, features, counts, sample_metadata=metadata,
                         tree=FeatureTree(_caterpillar(list(features)), "soilbiome/phylogeny"))
    with tempfile.TemporaryDirectory(prefix="soilbiome-warmup-") as tmp:
        run_diversity(table, tmp, unifrac=True, group_by="site", permutations=9)
    # unweighted UniFrac runs on the C kernels where they are built: compile its numba
    # kernels too, so that SOILBIOME_NATIVE=0 or an install without them never compiles
    from soilbiome.diversity.unifrac import Phylogeny
    from soilbiome.diversity.unweighted import unweighted_condensed
    from soilbiome.io.newick import parse_flat

    phylo = Phylogeny.of(parse_flat(_caterpillar(list(features))), features)
    unweighted_condensed(counts, phylo, "numba")
    return time.perf_counter() - started


if __name__ == "__main__":  # python -m soilbiome.diversity.warmup (runtime/setup.sh, the image)
    print(f"diversity kernels compiled and cached in {compile_kernels():.1f} s")
