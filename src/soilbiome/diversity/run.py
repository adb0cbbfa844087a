"""``soilbiome diversity``: compute every diversity output of one table and write them."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import sparse

from soilbiome.diversity.alpha import CHAO1_NEEDS_COUNTS, _shannon_base, alpha_diversity
from soilbiome.diversity.beta import beta_diversity
from soilbiome.diversity.common import (
    BETA_METRICS,
    CHAO1_DEFINITION,
    PHYLO_METRICS,
    SIMPSON_DEFINITION,
    CountTable,
    DiversityError,
    as_sparse,
)
from soilbiome.diversity.ordination import DEFAULT_AXES, pcoa_result
from soilbiome.diversity.rarefy import (
    CURVE_METHOD,
    RAREFACTION_METHOD,
    rarefaction_curve,
    rarefy,
)
from soilbiome.diversity.stats import adonis2_table, permanova, permdisp
from soilbiome.diversity.unifrac import at_precision, tree_arrays
from soilbiome.diversity.writers import write_lsmat, write_ordination, write_tsv
from soilbiome.errors import InputError
from soilbiome.io.hashing import sha256_file
from soilbiome.io.jsonfile import write_json
from soilbiome.model.stat_result import not_computable
from soilbiome.model.table import FeatureTable

#: Columns of ``permanova.tsv``: vegan ``adonis2`` rows plus the test's status and reason.
PERMANOVA_COLUMNS = ["metric", "term", "Df", "SumOfSqs", "R2", "F", "Pr(>F)", "group_by",
                     "permutations", "p_min", "sample_size", "number_of_groups", "status",
                     "reason"]


def versions() -> dict[str, str]:
    """Versions of the libraries whose numbers end up in the outputs."""
    out = {}
    for dist in ("soilbiome", "scikit-bio", "numpy", "scipy", "pandas", "biom-format"):
        try:
            out[dist] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[dist] = "unknown"
    return out


def _tree(table: FeatureTable | CountTable, sc: object, source: str,
          tree_path: str | Path | None, unifrac: bool | None) -> tuple[object, dict | None]:
    """The tree for UniFrac and Faith's PD (via the one tree reader) and where it came from."""
    from soilbiome.io.biom_tree import feature_tree

    if unifrac is False:
        return None, None
    if not isinstance(table, FeatureTable):  # a dense library table: only an explicit file
        if tree_path is None:
            if unifrac:
                raise DiversityError("UniFrac needs a tree: give tree_path")
            return None, None
        table = FeatureTable(tuple(sc.sample_ids), tuple(sc.feature_ids), sc.matrix,
                             path=Path(source) if source else None)
    tree = feature_tree(table, newick_path=tree_path,
                        purpose="UniFrac and Faith's PD" if unifrac else None, flat=True)
    if tree is None:
        return None, None
    if tree_path is not None:
        return tree, {"source": str(tree_path), "sha256": sha256_file(tree_path)}
    return tree, {"source": f"{source}:/{table.tree.location}", "sha256": table.tree.sha256}


#: What diversity.json says when a shotgun table's unexplained reads were left out.
PROFILED_PART_NOTE = (
    "shotgun table: every index (alpha, beta, rarefaction) is computed on the profiled part "
    "only; the feature 'unclassified' (reads the profiler could not explain) is left out, "
    "because it is not one taxon but the unknown rest of the community")


def _profiled_part(table: object, sc: object) -> tuple[object, dict] | None:
    """A shotgun table without its ``unclassified`` feature, and the record saying so."""
    from soilbiome.diversity.common import SparseCounts
    from soilbiome.taxonomy.taxdump import UNCLASSIFIED_ID

    if not isinstance(table, FeatureTable) or (table.marker or "").lower() != "shotgun":
        return None
    if UNCLASSIFIED_ID not in sc.feature_ids:  # type: ignore[attr-defined]
        return None
    keep = [i for i, f in enumerate(sc.feature_ids) if f != UNCLASSIFIED_ID]  # type: ignore[attr-defined]
    matrix = sc.matrix[:, keep]  # type: ignore[attr-defined]
    matrix.eliminate_zeros()
    dropped = sc.matrix[:, [sc.feature_ids.index(UNCLASSIFIED_ID)]]  # type: ignore[attr-defined]
    shares = {}
    totals = sc.totals  # type: ignore[attr-defined]
    for i, sample in enumerate(sc.sample_ids):  # type: ignore[attr-defined]
        shares[sample] = round(float(dropped[i].sum() / totals[i]), 4) if totals[i] else 0.0
    out = SparseCounts(sparse.csr_matrix(matrix), sc.sample_ids,  # type: ignore[attr-defined]
                       tuple(sc.feature_ids[i] for i in keep), sc.integer)  # type: ignore[attr-defined]
    return out, {"feature_left_out": UNCLASSIFIED_ID, "unexplained_share": shares,
                 "note": PROFILED_PART_NOTE}


def run_diversity(
    table: FeatureTable | CountTable,
    outdir: str | Path,
    *,
    rarefaction_depth: int | None = None,
    rarefaction: bool = True,
    seed: int = 42,
    tree_path: str | Path | None = None,
    unifrac: bool | None = None,
    branch_lengths: str = "double",
    group_by: str | None = None,
    shannon_base: str = "e",
    permutations: int = 999,
    curve_depths: Iterable[int] | None = None,
    pcoa_axes: int = DEFAULT_AXES,
    extra: dict | None = None,
) -> dict:
    """Compute every diversity output for one table and write them into ``outdir``.

    Parameters
    ----------
    table : FeatureTable or CountTable
        From :func:`soilbiome.io.biom_reader.read_table` (sparse; a dense
        :class:`CountTable` is accepted for library callers).
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
        Newick tree (tips = feature IDs) to use instead of the one the table carries.
    unifrac : bool, optional
        ``True``: weighted/unweighted UniFrac and Faith's PD are wanted, and a table without a
        tree (e.g. re-saved by biom-format, which drops it) is an error saying so; ``False``:
        none of them; ``None`` (default): computed when a tree is available.
    branch_lengths : {"double", "single"}, default "double"
        Precision the tree's branch lengths are read in for UniFrac and Faith's PD:
        ``single`` as Striped UniFrac (QIIME 2) reads them
        (:func:`soilbiome.diversity.unifrac.at_precision`); recorded in ``diversity.json``.
    group_by : str, optional
        Sample metadata column for PERMANOVA.
    shannon_base : {"e", "2"}, default "e"
        Logarithm base of Shannon.
    permutations : int, default 999
        PERMANOVA permutations.
    curve_depths : iterable of int, optional
        Depths of the rarefaction curve (default 20 steps up to the largest total).
    pcoa_axes : int, default 10
        Principal coordinates kept (written to ``pcoa_<metric>.tsv`` and the ordination file).
    extra : dict, optional
        Merged into ``diversity.json`` (e.g. ``compare`` records its inputs here).

    Returns
    -------
    dict
        The content of ``diversity.json``.
    """
    outdir = Path(outdir)  # made once the inputs passed their checks (first write below)
    written: set[str] = set()

    def write(df: pd.DataFrame, path: Path, index: bool = True) -> None:
        write_tsv(df, path, index=index)
        written.add(path.name)

    sc = as_sparse(table)
    profiled_only = _profiled_part(table, sc)
    if profiled_only is not None:
        sc = profiled_only[0]
    if isinstance(table, FeatureTable):
        source = str(table.path) if table.path else ""
        sample_md = table.sample_metadata
    else:
        source, sample_md = table.source, table.sample_metadata
    _shannon_base(shannon_base)
    integer = sc.integer
    index = pd.Index(sc.sample_ids, name="sample")
    totals = pd.Series(sc.totals, index=index)
    empty = [str(s) for s in index[totals.to_numpy() == 0]]
    excluded: list[dict] = []

    if group_by is not None and group_by not in sample_md.columns:
        cols = ", ".join(map(str, sample_md.columns)) or "none"
        raise InputError(f"--group-by '{group_by}' is not a sample metadata column ({cols})")
    tree, tree_source = _tree(table, sc, source, tree_path, unifrac)
    # the tree as postorder arrays, set up once for Faith's PD and the UniFracs
    arrays = at_precision(tree_arrays(tree), branch_lengths) if tree is not None else None
    if tree_source is not None:
        tree_source["branch_lengths"] = branch_lengths

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
        if len(index) and not (totals >= int(rarefaction_depth)).any():
            # QIIME 2 refuses such a depth too ("shallow enough sampling depth"): a table of
            # excluded samples is not a result
            most = totals.idxmax()
            remedy = (f"give a depth of at most {int(totals[most])}" if totals[most] > 0 else
                      "every sample is empty; use --no-rarefaction")
            raise DiversityError(
                f"--rarefaction-depth {int(rarefaction_depth)} is above every sample's reads "
                f"(the most: {int(totals[most])}, sample '{most}'): no sample would be kept; "
                f"{remedy}")
        rare = rarefy(sc, int(rarefaction_depth), seed)
        for s, why in rare.excluded.items():
            excluded.append({"sample": s, "stage": "rarefaction", "reason": why})
        work = rare.counts
        depth: int | None = rare.depth
    else:
        work = sc
        depth = None

    # -- alpha ---------------------------------------------------------------------------
    alpha = alpha_diversity(work, shannon_base).drop(columns="total").reindex(index)
    alpha.insert(0, "reads", totals.astype(np.int64) if integer else totals)
    alpha.insert(1, "depth", pd.Series(depth if depth is not None else totals, index=alpha.index))
    if integer:
        alpha["depth"] = alpha["depth"].astype("Int64")
        alpha["observed_features"] = alpha["observed_features"].astype("Int64")
    if tree is not None:  # Faith's PD (diversity/phylo.py) next to the other alpha indices
        from soilbiome.diversity.phylo import faith_pd

        alpha["faith_pd"] = faith_pd(work, arrays).reindex(index)
    alpha["rarefied"] = depth is not None
    # what holds for the whole table is said once (parameters.not_computed), not per sample
    not_computed = {} if integer else {"chao1": CHAO1_NEEDS_COUNTS}
    for s, note in alpha["note"].items():
        own = [n for n in note.split("; ") if n and n not in not_computed.values()] if (
            isinstance(note, str)) else []
        if own:
            excluded.append({"sample": s, "stage": "alpha", "reason": "; ".join(own)})
    if depth is not None:
        for s, why in rare.excluded.items():
            alpha.loc[s, "depth"] = pd.NA
            alpha.loc[s, "shannon_base"] = shannon_base
            alpha.loc[s, "note"] = f"excluded by rarefaction: {why}"
    outdir.mkdir(parents=True, exist_ok=True)
    write(alpha, outdir / "alpha_diversity.tsv")

    # -- rarefaction curve --------------------------------------------------------------
    curve_info: dict = {"file": "rarefaction_curve.tsv", "method": CURVE_METHOD}
    if integer:
        extra_depths = [depth] if depth is not None and curve_depths is None else []
        curve = rarefaction_curve(sc, list(curve_depths) if curve_depths else None,
                                  extra_depths=extra_depths)
        if extra_depths:
            curve = curve.sort_values(["sample", "depth"], kind="stable")
        write(curve, outdir / "rarefaction_curve.tsv", index=False)
    else:
        curve_info = {"skipped": "non-integer table: no rarefaction curve"}
        write(
            pd.DataFrame(columns=["sample", "depth", "observed_features"]),
            outdir / "rarefaction_curve.tsv", index=False,
        )

    # -- beta, PCoA, PERMANOVA, PERMDISP ----------------------------------------------
    metrics = list(BETA_METRICS) + (list(PHYLO_METRICS) if tree is not None else [])
    beta_info: dict = {}
    pcoa_info: dict = {}
    perm_info: dict = {}
    disp_info: dict = {}
    grouping = None
    if group_by is not None:
        grouping = sample_md[group_by].reindex(index)
        grouping.name = group_by
    for metric in metrics:
        try:
            dm, beta_excl = beta_diversity(work, metric, tree=arrays)
        except DiversityError as exc:
            if "at least 2 non-empty" not in str(exc):
                raise
            beta_info[metric] = {"skipped": str(exc)}
            pcoa_info[metric] = {"skipped": str(exc)}
            if group_by is not None:
                for info, method in ((perm_info, "PERMANOVA"), (disp_info, "PERMDISP")):
                    info[metric] = not_computable(
                        f"no {metric} distances ({exc})", method=method, group_by=group_by,
                        excluded={}, test_statistic=None, p_value=None,
                        permutations=int(permutations), p_min=None)
            (outdir / f"beta_{metric}.tsv").unlink(missing_ok=True)
            continue
        for s, why in beta_excl.items():
            excluded.append({"sample": s, "stage": f"beta:{metric}", "reason": why})
        name = f"beta_{metric}.tsv"
        write_lsmat(dm, outdir / name)
        written.add(name)
        beta_info[metric] = {"file": name, "format": "lsmat (skbio/QIIME 2 DistanceMatrix)",
                             "samples": len(dm.ids)}
        if metric == "jaccard":
            beta_info[metric]["definition"] = "presence/absence (vegdist binary=TRUE)"
        if metric == "weighted_unifrac":
            beta_info[metric]["normalized"] = False
        if metric == "weighted_normalized_unifrac":
            beta_info[metric]["normalized"] = True
        try:
            ordination = pcoa_result(dm, pcoa_axes)
        except DiversityError as exc:
            pcoa_info[metric] = {"skipped": str(exc)}
        else:
            pname = f"pcoa_{metric}.tsv"
            oname = f"pcoa_{metric}.ordination.txt"
            write(ordination.samples, outdir / pname)
            write_ordination(ordination, outdir / oname)
            written.add(oname)
            pcoa_info[metric] = {
                "file": pname,
                "ordination_file": oname,
                "axes": int(ordination.samples.shape[1]),
                "eigenvalues": {k: float(v) for k, v in ordination.eigvals.items()},
                "proportion_explained": {
                    k: float(v) for k, v in ordination.proportion_explained.items()
                },
                "proportion_explained_of": ordination.denominator,
                "warnings": ordination.warnings,
            }
        if grouping is not None:
            res = permanova(dm, grouping, permutations=permutations, seed=seed)
            for s, why in res.get("excluded", {}).items():
                excluded.append({"sample": s, "stage": f"permanova:{metric}", "reason": why})
            perm_info[metric] = res
            disp = permdisp(dm, grouping, permutations=permutations, seed=seed)
            disp_info[metric] = {k: v for k, v in disp.items() if k != "distances"}
            if disp.get("distances"):
                write(pd.DataFrame({"sample": list(disp["distances"]),
                                    group_by: grouping.reindex(list(disp["distances"])).values,
                                    "distance_to_centroid": list(disp["distances"].values())}),
                      outdir / f"permdisp_{metric}_distances.tsv", index=False)
    if perm_info:
        rows = []
        for m, r in perm_info.items():
            if r["status"] != "computed":
                rows.append({"metric": m, "term": "Model", "group_by": group_by,
                             "permutations": r["permutations"], "p_min": None,
                             "sample_size": r.get("sample_size"),
                             "number_of_groups": r.get("number_of_groups"),
                             "status": r["status"], "reason": r["reason"]})
                continue
            tab = adonis2_table(r).reset_index()
            tab.insert(0, "metric", m)
            tab["group_by"] = group_by
            tab["permutations"] = r["permutations"]
            tab["p_min"] = [r["p_min"], None, None]
            tab["sample_size"] = r["sample_size"]
            tab["number_of_groups"] = r["number_of_groups"]
            tab["status"] = r["status"]
            tab["reason"] = ["", "residual: no F and no p-value", "total: no F and no p-value"]
            rows.extend(tab.to_dict("records"))
        write(pd.DataFrame(rows, columns=PERMANOVA_COLUMNS), outdir / "permanova.tsv",
              index=False)
    if disp_info:
        cols = ("test_statistic", "p_value", "p_value_parametric", "df_model", "df_residual",
                "sample_size", "number_of_groups", "permutations", "p_min", "centroid",
                "status", "reason")
        rows = [{"metric": m, "group_by": group_by, **{c: r.get(c) for c in cols}}
                for m, r in disp_info.items()]
        write(pd.DataFrame(rows), outdir / "permdisp.tsv", index=False)

    summary = {
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "input": {
            "path": source,
            "sha256": sha256_file(source) if source and Path(source).is_file() else None,
            "samples": int(sc.matrix.shape[0]),
            "features": int(sc.matrix.shape[1]),
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
            "not_computed": not_computed,
            "pielou_evenness": "H / ln(S_obs) (independent of the log base); NaN for S_obs = 1",
            "tree": tree_source,
            "group_by": group_by,
            "permutations": int(permutations) if group_by else None,
            "profiled_part_only": profiled_only[1] if profiled_only else None,
        },
        "samples": {
            "all": list(sc.sample_ids),
            "empty": empty,
            "totals": {str(k): float(v) for k, v in totals.items()},
        },
        "excluded": excluded,
        "outputs": {
            "alpha": "alpha_diversity.tsv",
            "beta": beta_info,
            "rarefaction_curve": curve_info,
            "permanova": "permanova.tsv" if perm_info else None,
            "permdisp": "permdisp.tsv" if disp_info else None,
        },
        "pcoa": pcoa_info,
        "permanova": perm_info,
        "permdisp": disp_info,
        "versions": versions(),
    }
    # outputs of an earlier run into the same folder that this run did not produce would be
    # read as current (e.g. by the report): remove them
    if extra:
        summary.update(extra)
    for metric in BETA_METRICS + PHYLO_METRICS:
        for name in (f"beta_{metric}.tsv", f"pcoa_{metric}.tsv", f"pcoa_{metric}.ordination.txt",
                     f"permdisp_{metric}_distances.tsv"):
            if name not in written:
                (outdir / name).unlink(missing_ok=True)
    for name in ("permanova.tsv", "permdisp.tsv"):
        if name not in written:
            (outdir / name).unlink(missing_ok=True)
    write_json(outdir / "diversity.json", summary, default=str)
    return summary
