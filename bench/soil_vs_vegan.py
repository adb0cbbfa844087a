#!/usr/bin/env python3
"""Soil-context statistics against vegan: figures of both, their differences, p-values.

Runs vegan (R) and :mod:`soilbiome.soil.stats` on vegan's ``varespec``/``varechem`` (24
lichen-pasture sites, Bray-Curtis; N, P, K, pH, humus depth; or another community/soil CSV pair
given with ``--counts``/``--env``, samples as rows) and prints, per statistic, soilbiome's value,
vegan's, the absolute difference (target <= 1e-9) and, for permutation p-values, the difference
in units of the Monte Carlo standard error sqrt(p (1 - p) / N) (target: within ~4).
"""

from __future__ import annotations

import argparse
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist, squareform

from soilbiome.soil import stats

R = r"""
suppressMessages(library(vegan))
args <- commandArgs(trailingOnly = TRUE)
if (args[1] == "-") { data(varespec); data(varechem); x <- varespec
  env <- varechem[, c("N", "P", "K", "pH", "Humdepth")]
} else { x <- read.csv(args[1], row.names = 1, check.names = FALSE)
  env <- read.csv(args[2], row.names = 1, check.names = FALSE) }
perm <- as.integer(args[3]); out <- args[4]
write.csv(x, file.path(out, "x.csv")); write.csv(env, file.path(out, "env.csv"))
d <- vegdist(x, "bray"); pc <- cmdscale(d, k = 2); write.csv(pc, file.path(out, "pc.csv"))
res <- list()
for (m in c("pearson", "spearman")) {
  t <- mantel(d, dist(scale(env)), method = m, permutations = perm)
  res[[paste0("mantel_", m)]] <- c(t$statistic, t$signif) }
ef <- envfit(pc, env, permutations = perm)
for (i in seq_len(ncol(env))) res[[paste0("envfit_", colnames(env)[i])]] <-
  c(ef$vectors$r[i], ef$vectors$pvals[i], ef$vectors$arrows[i, ])
fla <- as.formula(paste("d ~", paste(colnames(env), collapse = " + ")))
for (m in c("dbrda", "capscale")) {
  mod <- if (m == "dbrda") dbrda(fla, data = env) else capscale(fla, data = env)
  r2 <- RsquareAdj(mod); a <- anova(mod, by = "terms", permutations = perm)
  res[[paste0(m, "_R2")]] <- c(r2$r.squared, r2$adj.r.squared)
  for (i in seq_len(ncol(env))) res[[paste0(m, "_", colnames(env)[i])]] <-
    c(a$SumOfSqs[i], a$F[i], a[["Pr(>F)"]][i])
}
for (n in names(res)) cat(n, sprintf("%.17g", res[[n]]), "\n")
"""


def main() -> int:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--counts", default="-", help="samples x features CSV (default vegan)")
    parser.add_argument("--env", default="-", help="samples x variables CSV")
    parser.add_argument("--permutations", type=int, default=999)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(["Rscript", "-e", R, args.counts, args.env,
                               str(args.permutations), tmp], capture_output=True, text=True)
        if proc.returncode:
            print(proc.stderr, file=sys.stderr)
            return 1
        ref = {ln.split()[0]: [float(v) for v in ln.split()[1:]]
               for ln in proc.stdout.splitlines() if ln.strip()}
        x = pd.read_csv(Path(tmp) / "x.csv", index_col=0)
        env = pd.read_csv(Path(tmp) / "env.csv", index_col=0)
        pc = pd.read_csv(Path(tmp) / "pc.csv", index_col=0).to_numpy()
    n_perm = args.permutations
    d = squareform(pdist(x.to_numpy(float), "braycurtis"))
    rows = []

    def add(name: str, ours: float, theirs: float, is_p: bool = False) -> None:
        if is_p:
            p = min(max((ours + theirs) / 2, 1 / n_perm), 1 - 1 / n_perm)
            se = math.sqrt(p * (1 - p) / n_perm)
            rows.append((name, ours, theirs, f"{abs(ours - theirs) / se:.2f} SE"))
        else:
            rows.append((name, ours, theirs, f"{abs(ours - theirs):.1e}"))

    e = stats.env_distance(env.to_numpy(float))
    for m in ("pearson", "spearman"):
        r = stats.mantel(d, e, method=m, permutations=n_perm)
        add(f"mantel {m} r", r.statistic, ref[f"mantel_{m}"][0])
        add(f"mantel {m} p", r.p_value, ref[f"mantel_{m}"][1], True)
    for v in env.columns:
        f = stats.envfit_vectors(pc, env[v].to_numpy(float), v, permutations=n_perm)
        add(f"envfit {v} r2", f.r2, ref[f"envfit_{v}"][0])
        add(f"envfit {v} arrow max diff", float(np.max(np.abs(np.array(f.direction)
                                                     - ref[f"envfit_{v}"][2:4]))), 0.0)
        add(f"envfit {v} p", f.p_value, ref[f"envfit_{v}"][1], True)
    for m in ("dbrda", "capscale"):
        res = stats.dbrda(d, env.to_numpy(float), list(env.columns), permutations=n_perm,
                          method=m)
        add(f"{m} R2", res.r2, ref[f"{m}_R2"][0])
        add(f"{m} adjusted R2", res.r2_adjusted, ref[f"{m}_R2"][1])
        for t in res.terms:
            add(f"{m} {t.term} SS", t.sum_of_squares, ref[f"{m}_{t.term}"][0])
            add(f"{m} {t.term} F", t.f, ref[f"{m}_{t.term}"][1])
            add(f"{m} {t.term} p", t.p_value, ref[f"{m}_{t.term}"][2], True)
    print(f"{'statistic':<28} {'soilbiome':>14} {'vegan':>14}  difference")
    for name, ours, theirs, diff in rows:
        print(f"{name:<28} {ours:>14.9f} {theirs:>14.9f}  {diff}")
    worst = max(abs(o - t) for n, o, t, _ in rows if not n.endswith(" p"))
    print(f"largest difference of a statistic: {worst:.1e} (target <= 1e-9)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
