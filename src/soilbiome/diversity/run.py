"""``soilbiome diversity``: compute every diversity output of one table and write them."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd

from soilbiome.diversity.alpha import _shannon_base, alpha_diversity
from soilbiome.diversity.beta import beta_diversity
from soilbiome.diversity.common import (
    BETA_METRICS,
    CHAO1_DEFINITION,
    PHYLO_METRICS,
    SIMPSON_DEFINITION,
    CountTable,
    DiversityError,
    _as_counts,
    is_integer_table,
)
from soilbiome.diversity.ordination import pcoa
from soilbiome.diversity.rarefy import (
    CURVE_METHOD,
    RAREFACTION_METHOD,
    rarefaction_curve,
    rarefy,
)
from soilbiome.diversity.stats import permanova
from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.hashing import sha256_file


def versions() -> dict[str, str]:
    """Versions of the libraries whose numbers end up in the outputs."""
    out = {}
    for dist in ("soilbiome", "scikit-bio", "numpy", "scipy", "pandas", "biom-format"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def _write_tsv(df: pd.DataFrame, path: Path, index: bool = True) -> None:
    with atomic_write(path) as fh:
        df.to_csv(fh, sep="\t", index=index, na_rep="NaN", lineterminator="\n")


def _dm_frame(dm: object) -> pd.DataFrame:
    ids = [str(i) for i in dm.ids]
    return pd.DataFrame(dm.data, index=pd.Index(ids, name="sample"), columns=ids)


def run_diversity(
    table: CountTable,
    outdir: str | Path,
    *,
    rarefaction_depth: int | None = None,
    rarefaction: bool = True,
    seed: int = 42,
    tree_path: str | Path | None = None,
    group_by: str | None = None,
    shannon_base: str = "e",
    permutations: int = 999,
    curve_depths: Iterable[int] | None = None,
) -> dict:
    """Compute every diversity output for one table and write them into ``outdir``.

    Parameters
    ----------
    table : CountTable
        From :func:`load_table`.
    outdir : str or Path
        Output folder (created).
    rarefaction_depth : int, optional
        Depth to rarefy to. Default (with ``rarefaction=True``): the smallest total of the
        non-empty samples, so that no non-empty sample is excluded.
    rarefaction : bool, default True
        ``False`` computes everything on the counts as given.
    seed : int, default 42
        Seed of the rarefaction draws and the PERMANOVA permutations.
    tree_path : str or Path, optional
        Newick tree (tips = feature IDs) for weighted/unweighted UniFrac.
    group_by : str, optional
        Sample metadata column for PERMANOVA.
    shannon_base : {"e", "2"}, default "e"
        Logarithm base of Shannon.
    permutations : int, default 999
        PERMANOVA permutations.
    curve_depths : iterable of int, optional
        Depths of the rarefaction curve (default 20 steps up to the largest total).

    Returns
    -------
    dict
        The content of ``diversity.json``.
    """
    outdir = Path(outdir)
    outdir.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()

    def write(df: pd.DataFrame, path: Path, index: bool = True) -> None:
        _write_tsv(df, path, index=index)
        written.add(path.name)

    counts = _as_counts(table.counts)
    _shannon_base(shannon_base)
    integer = is_integer_table(counts)
    totals = counts.sum(axis=1)
    empty = [str(s) for s in counts.index[totals == 0]]
    excluded: list[dict] = []

    if group_by is not None and group_by not in table.sample_metadata.columns:
        cols = ", ".join(map(str, table.sample_metadata.columns)) or "none"
        raise InputError(f"--group-by '{group_by}' is not a sample metadata column ({cols})")
    tree = None
    if tree_path is not None:
        from skbio import TreeNode

        try:
            tree = TreeNode.read(str(tree_path), format="newick")
        except Exception as exc:
            raise InputError(f"cannot read Newick tree ({exc})", location=str(tree_path)) from None

    # -- rarefaction ------------------------------------------------------------------
    if rarefaction and not integer:
        if rarefaction_depth is not None:
            raise DiversityError(
                "table holds non-integer values (relative abundances?): cannot rarefy; "
                "use --no-rarefaction"
            )
        rarefaction = False
        rare_mode = "none (non-integer table)"
    elif not rarefaction:
        rare_mode = "none"
    elif rarefaction_depth is None and not (totals > 0).any():
        rarefaction = False
        rare_mode = "none (every sample is empty)"
    elif rarefaction_depth is None:
        rarefaction_depth = int(totals[totals > 0].min())
        rare_mode = "auto (smallest non-empty sample total)"
    else:
        rare_mode = "fixed"
    if rarefaction:
        rare = rarefy(counts, int(rarefaction_depth), seed)
        for s, why in rare.excluded.items():
            excluded.append({"sample": s, "stage": "rarefaction", "reason": why})
        work = rare.table
        depth: int | None = rare.depth
    else:
        work = counts
        depth = None

    # -- alpha ---------------------------------------------------------------------------
    alpha = alpha_diversity(work, shannon_base).drop(columns="total").reindex(counts.index)
    alpha.insert(0, "reads", totals.astype(np.int64) if integer else totals)
    alpha.insert(1, "depth", pd.Series(depth if depth is not None else totals, index=alpha.index))
    if integer:
        alpha["depth"] = alpha["depth"].astype("Int64")
        alpha["observed_features"] = alpha["observed_features"].astype("Int64")
    alpha["rarefied"] = depth is not None
    for s, note in alpha["note"].items():
        if isinstance(note, str) and note:
            excluded.append({"sample": s, "stage": "alpha", "reason": note})
    if depth is not None:
        for s, why in rare.excluded.items():
            alpha.loc[s, "depth"] = pd.NA
            alpha.loc[s, "shannon_base"] = shannon_base
            alpha.loc[s, "note"] = f"excluded by rarefaction: {why}"
    write(alpha, outdir / "alpha_diversity.tsv")

    # -- rarefaction curve --------------------------------------------------------------
    curve_info: dict = {"file": "rarefaction_curve.tsv", "method": CURVE_METHOD}
    if integer:
        curve = rarefaction_curve(counts, list(curve_depths) if curve_depths else None)
        if depth is not None and curve_depths is None:
            extra = rarefaction_curve(counts, [depth])
            curve = (
                pd.concat([curve, extra])
                .drop_duplicates(["sample", "depth"])
                .sort_values(["sample", "depth"], kind="stable")
            )
        write(curve, outdir / "rarefaction_curve.tsv", index=False)
    else:
        curve_info = {"skipped": "non-integer table: no rarefaction curve"}
        write(
            pd.DataFrame(columns=["sample", "depth", "observed_features"]),
            outdir / "rarefaction_curve.tsv", index=False,
        )

    # -- beta, PCoA, PERMANOVA ---------------------------------------------------------
    metrics = list(BETA_METRICS) + (list(PHYLO_METRICS) if tree is not None else [])
    beta_info: dict = {}
    pcoa_info: dict = {}
    perm_info: dict = {}
    for metric in metrics:
        try:
            dm, beta_excl = beta_diversity(work, metric, tree=tree)
        except DiversityError as exc:
            if "at least 2 non-empty" not in str(exc):
                raise
            beta_info[metric] = {"skipped": str(exc)}
            pcoa_info[metric] = {"skipped": str(exc)}
            if group_by is not None:
                perm_info[metric] = {"group_by": group_by, "skipped": str(exc), "excluded": {}}
            write(pd.DataFrame(index=pd.Index([], name="sample")),
                       outdir / f"beta_{metric}.tsv")
            continue
        for s, why in beta_excl.items():
            excluded.append({"sample": s, "stage": f"beta:{metric}", "reason": why})
        name = f"beta_{metric}.tsv"
        write(_dm_frame(dm), outdir / name)
        beta_info[metric] = {"file": name, "samples": len(dm.ids)}
        if metric == "jaccard":
            beta_info[metric]["definition"] = "presence/absence (vegdist binary=TRUE)"
        if metric == "weighted_unifrac":
            beta_info[metric]["normalized"] = False
        try:
            coords, prop, pwarn = pcoa(dm)
        except DiversityError as exc:
            pcoa_info[metric] = {"skipped": str(exc)}
        else:
            pname = f"pcoa_{metric}.tsv"
            write(coords, outdir / pname)
            pcoa_info[metric] = {
                "file": pname,
                "proportion_explained": {k: float(v) for k, v in prop.items()},
                "warnings": pwarn,
            }
        if group_by is not None:
            grouping = table.sample_metadata[group_by].reindex(counts.index)
            grouping.name = group_by
            res = permanova(dm, grouping, permutations=permutations, seed=seed)
            for s, why in res.get("excluded", {}).items():
                excluded.append({"sample": s, "stage": f"permanova:{metric}", "reason": why})
            perm_info[metric] = res
    if perm_info:
        rows = [
            {"metric": m, **{k: v for k, v in r.items() if k != "excluded"}}
            for m, r in perm_info.items()
        ]
        write(pd.DataFrame(rows), outdir / "permanova.tsv", index=False)

    summary = {
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "input": {
            "path": table.source,
            "sha256": (sha256_file(table.source)
                       if table.source and Path(table.source).is_file() else None),
            "samples": int(counts.shape[0]),
            "features": int(counts.shape[1]),
            "integer_counts": integer,
        },
        "parameters": {
            "rarefaction": {
                "mode": rare_mode,
                "depth": depth,
                "seed": int(seed),
                "method": RAREFACTION_METHOD if depth is not None else None,
            },
            "shannon_log_base": shannon_base,
            "simpson": SIMPSON_DEFINITION,
            "chao1": CHAO1_DEFINITION,
            "pielou_evenness": "H / ln(S_obs) (independent of the log base); NaN for S_obs = 1",
            "tree": str(tree_path) if tree_path else None,
            "group_by": group_by,
            "permutations": int(permutations) if group_by else None,
        },
        "samples": {
            "all": [str(s) for s in counts.index],
            "empty": empty,
            "totals": {str(k): float(v) for k, v in totals.items()},
        },
        "excluded": excluded,
        "outputs": {
            "alpha": "alpha_diversity.tsv",
            "beta": beta_info,
            "rarefaction_curve": curve_info,
            "permanova": "permanova.tsv" if perm_info else None,
        },
        "pcoa": pcoa_info,
        "permanova": perm_info,
        "versions": versions(),
    }
    # outputs of an earlier run into the same folder that this run did not produce would be
    # read as current (e.g. by the report): remove them
    for metric in BETA_METRICS + PHYLO_METRICS:
        for name in (f"beta_{metric}.tsv", f"pcoa_{metric}.tsv"):
            if name not in written:
                (outdir / name).unlink(missing_ok=True)
    if "permanova.tsv" not in written:
        (outdir / "permanova.tsv").unlink(missing_ok=True)
    with atomic_write(outdir / "diversity.json") as fh:
        json.dump(summary, fh, indent=2, default=_json_default)
        fh.write("\n")
    return summary


def _json_default(obj: object) -> object:
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return None if np.isnan(obj) else float(obj)
    if isinstance(obj, np.bool_):
        return bool(obj)
    return str(obj)
