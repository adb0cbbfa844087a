"""The soil-context analysis of one diversity run: which soil variables track the community.

:func:`run_soil_context` reads what ``soilbiome diversity`` wrote (``beta_<metric>.tsv``,
``pcoa_<metric>.tsv``, ``alpha_diversity.tsv``) and the sample metadata of the table, and
writes beside them:

* ``soil_mantel.tsv``: Mantel r (Pearson and Spearman) of the community distance against the
  Euclidean distance of the standardised variables, all variables together and each alone;
* ``soil_envfit.tsv``: each variable fitted as a vector onto PCoA axes 1-2 (direction, r², p);
* ``soil_dbrda.tsv``: distance-based RDA of the community distance on the variables, as vegan
  ``dbrda`` and ``capscale`` (terms sequentially, model, residual), with R² and adjusted R² in
  ``soil_context.json``;
* ``soil_alpha_spearman.tsv``: Spearman's rho of each alpha index with each variable;
* ``soil_excluded.tsv``: every sample left out of a test and why;
* ``soil_context.json``: parameters, units, methods, sample counts, file names.

A sample missing a variable is left out of the tests that use that variable only (the
joint Mantel test and dbRDA use samples with every variable), and is listed in
``soil_excluded.tsv``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.model.soil import SAMPLE_UNITS_ATTR, SOIL_FIELDS, is_missing, parse_value
from soilbiome.model.table import FeatureTable
from soilbiome.soil import stats

#: Alpha indices correlated with the variables (columns of ``alpha_diversity.tsv``).
ALPHA_INDICES: tuple[str, ...] = (
    "observed_features", "shannon", "simpson", "chao1", "pielou_evenness",
)
FILES = {
    "mantel": "soil_mantel.tsv",
    "envfit": "soil_envfit.tsv",
    "dbrda": "soil_dbrda.tsv",
    "alpha_spearman": "soil_alpha_spearman.tsv",
    "excluded": "soil_excluded.tsv",
    "summary": "soil_context.json",
}


def parse_env(option: str | Sequence[str]) -> list[str]:
    """``"ph,tot_org_carb"`` -> ``["ph", "tot_org_carb"]`` (no empty or repeated names)."""
    names = [n.strip() for n in (option.split(",") if isinstance(option, str) else option)]
    if any(not n for n in names):
        raise InputError(f"--env '{option}' has an empty variable name")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"--env names {', '.join(dupes)} more than once")
    return names


def _to_number(column: str, value: object) -> float:
    if value is None:
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = str(value)
    if is_missing(text) or text.strip().lower() == "nan":
        return math.nan
    if column in SOIL_FIELDS and SOIL_FIELDS[column].numeric:
        return parse_value(column, text).number
    return float(text)


def environment(table: FeatureTable, names: Sequence[str]) -> pd.DataFrame:
    """The named sample metadata columns as floats (NaN = missing), samples in table order.

    Raises
    ------
    InputError
        A name that is not a sample metadata column, or a column that is not numeric.
    """
    md = table.sample_metadata
    where = str(table.path) if table.path else None
    out = {}
    for name in names:
        if name not in md.columns:
            numeric = [c for c in md.columns if c in SOIL_FIELDS and SOIL_FIELDS[c].numeric
                       or pd.api.types.is_numeric_dtype(md[c])]
            raise InputError(
                f"--env '{name}' is not a sample metadata column of the table "
                f"(numeric columns: {', '.join(map(str, numeric)) or 'none'})",
                location=where,
            )
        values = []
        for sample, value in md[name].items():
            try:
                values.append(_to_number(name, value))
            except ValueError:
                kind = "categorical " if name in SOIL_FIELDS else ""
                raise InputError(
                    f"--env '{name}' is not a numeric variable: sample {sample} has "
                    f"'{value}' ({kind}variables are compared with --group-by / PERMANOVA)",
                    location=where,
                ) from None
        if not np.isfinite(values).any():
            raise InputError(f"--env '{name}' has no value in any sample", location=where)
        out[name] = values
    return pd.DataFrame(out, index=pd.Index(table.sample_ids, name="sample"), dtype=float)


def _read_matrix(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError("diversity output not found (run soilbiome diversity first)",
                         location=str(path))
    frame = pd.read_csv(path, sep="\t", index_col=0, dtype={0: str})
    frame.index = frame.index.astype(str)
    frame.columns = frame.columns.astype(str)
    return frame


def _write_tsv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_write(path) as handle:
        frame.to_csv(handle, sep="\t", index=False, na_rep="NaN", lineterminator="\n")


def run_soil_context(
    table: FeatureTable,
    outdir: str | Path,
    env: Sequence[str],
    *,
    metric: str = "braycurtis",
    permutations: int = 999,
    seed: int = 42,
) -> dict:
    """Test the soil variables ``env`` against the diversity outputs in ``outdir``.

    Parameters
    ----------
    table : FeatureTable
        The table the diversity run used (for its sample metadata).
    outdir : str or Path
        Folder holding ``beta_<metric>.tsv``, ``pcoa_<metric>.tsv`` and
        ``alpha_diversity.tsv``; the soil outputs are written there.
    env : sequence of str
        Numeric sample metadata columns (``ph``, ``tot_org_carb`` ...).
    metric : str
        Community distance (a beta metric the diversity run wrote).
    permutations, seed : int
        Permutations of every test and the seed of their generator.

    Returns
    -------
    dict
        The content of ``soil_context.json``.
    """
    outdir = Path(outdir)
    names = parse_env(env)
    values = environment(table, names)
    beta = _read_matrix(outdir / f"beta_{metric}.tsv")
    alpha = _read_matrix(outdir / "alpha_diversity.tsv")
    pcoa_path = outdir / f"pcoa_{metric}.tsv"
    coords = _read_matrix(pcoa_path) if pcoa_path.is_file() else None
    excluded: list[dict] = []
    in_beta = set(beta.index)
    empty = {s for s, t in zip(table.sample_ids, table.sample_totals(), strict=True) if t == 0}

    def keep(test: str, variables: Sequence[str], pool: set[str], pool_reason: str) -> list[str]:
        kept = []
        for sample in table.sample_ids:
            lacking = [v for v in variables if not np.isfinite(values.at[sample, v])]
            if sample in empty:  # no community: observed_features 0 is not a soil's diversity
                excluded.append({"test": test, "sample": sample, "variable": "",
                                 "reason": "empty sample (0 reads)"})
            elif lacking:
                excluded.append({"test": test, "sample": sample, "variable": ",".join(lacking),
                                 "reason": f"no value for {', '.join(lacking)}"})
            elif sample not in pool:
                excluded.append({"test": test, "sample": sample, "variable": "",
                                 "reason": pool_reason})
            else:
                kept.append(sample)
        return kept

    no_dist = f"no {metric} distance (empty sample or excluded by rarefaction)"
    # -- Mantel ----------------------------------------------------------------------------
    mantel_rows = []
    sets = [names] + ([[n] for n in names] if len(names) > 1 else [])
    for variables in sets:
        label = "+".join(variables)
        kept = keep(f"mantel:{label}", variables, in_beta, no_dist)
        for method in ("pearson", "spearman"):
            row = {"variables": label, "metric": metric, "method": method, "n_samples": len(kept)}
            try:
                res = stats.mantel(beta.loc[kept, kept].to_numpy(),
                                   stats.env_distance(values.loc[kept, list(variables)].to_numpy()),
                                   method=method, permutations=permutations, seed=seed)
                row.update(statistic=res.statistic, p_value=res.p_value, note="")
            except stats.SoilStatsError as exc:
                row.update(statistic=math.nan, p_value=math.nan, note=str(exc))
            row["permutations"] = permutations
            mantel_rows.append(row)
    # -- envfit ----------------------------------------------------------------------------
    envfit_rows = []
    axes: list[str] = []
    if coords is not None and coords.shape[1] >= 2:
        axes = list(coords.columns[:2])
        for name in names:
            kept = keep(f"envfit:{name}", [name], set(coords.index), f"not in the {metric} PCoA")
            row = {"variable": name, "metric": metric, "n_samples": len(kept)}
            try:
                fit = stats.envfit_vectors(coords.loc[kept, axes].to_numpy(),
                                           values.loc[kept, name].to_numpy(), name,
                                           permutations=permutations, seed=seed)
                row.update({axes[0]: fit.direction[0], axes[1]: fit.direction[1],
                            "r2": fit.r2, "p_value": fit.p_value, "note": ""})
            except stats.SoilStatsError as exc:
                row.update({axes[0]: math.nan, axes[1]: math.nan, "r2": math.nan,
                            "p_value": math.nan, "note": str(exc)})
            row["permutations"] = permutations
            envfit_rows.append(row)
    envfit_note = "" if axes else f"no {metric} PCoA with two axes: no fitted vectors"
    # -- dbRDA -----------------------------------------------------------------------------
    kept = keep("dbrda", names, in_beta, no_dist)
    dbrda_info: dict = {"n_samples": len(kept), "variables": names, "metric": metric}
    dbrda_rows = []
    for method in ("dbrda", "capscale"):
        try:
            res = stats.dbrda(beta.loc[kept, kept].to_numpy(),
                              values.loc[kept, names].to_numpy(), names,
                              permutations=permutations, seed=seed, method=method)
        except stats.SoilStatsError as exc:
            dbrda_info[method] = {"skipped": str(exc)}
            continue
        for term in (*res.terms, res.model):
            dbrda_rows.append({"method": method, "term": term.term, "df": term.df,
                               "sum_of_squares": term.sum_of_squares, "f": term.f,
                               "p_value": term.p_value})
        dbrda_rows.append({"method": method, "term": "residual", "df": res.residual_df,
                           "sum_of_squares": res.residual_ss, "f": math.nan,
                           "p_value": math.nan})
        dbrda_info[method] = {"r2": res.r2, "r2_adjusted": res.r2_adjusted,
                              "total_inertia": res.total_ss}
    # -- alpha -----------------------------------------------------------------------------
    spearman_rows = []
    indices = [i for i in ALPHA_INDICES if i in alpha.columns]
    for index in indices:
        column = pd.to_numeric(alpha[index], errors="coerce")
        has_alpha = {s for s, v in column.items() if np.isfinite(v)}
        for name in names:
            kept = keep(f"alpha:{index}:{name}", [name], has_alpha,
                        f"no {index} value (empty sample or excluded by rarefaction)")
            try:
                r = stats.spearman(column.loc[kept].to_numpy(), values.loc[kept, name].to_numpy(),
                                   index, name)
                spearman_rows.append({"index": index, "variable": name, "rho": r.rho,
                                      "p_value": r.p_value, "n_samples": r.n_samples, "note": ""})
            except stats.SoilStatsError as exc:
                spearman_rows.append({"index": index, "variable": name, "rho": math.nan,
                                      "p_value": math.nan, "n_samples": len(kept),
                                      "note": str(exc)})
    spearman = pd.DataFrame(spearman_rows,
                            columns=["index", "variable", "rho", "p_value", "n_samples", "note"])
    spearman.insert(4, "q_value", stats.benjamini_hochberg(spearman["p_value"].to_numpy()))

    # -- write -----------------------------------------------------------------------------
    _write_tsv(pd.DataFrame(mantel_rows), outdir / FILES["mantel"])
    _write_tsv(pd.DataFrame(envfit_rows, columns=["variable", "metric", "n_samples", *axes,
                                                  "r2", "p_value", "note", "permutations"]),
               outdir / FILES["envfit"])
    _write_tsv(pd.DataFrame(dbrda_rows, columns=["method", "term", "df", "sum_of_squares", "f",
                                                 "p_value"]), outdir / FILES["dbrda"])
    _write_tsv(spearman, outdir / FILES["alpha_spearman"])
    _write_tsv(pd.DataFrame(excluded, columns=["test", "sample", "variable", "reason"]),
               outdir / FILES["excluded"])
    try:
        units = json.loads(table.attributes.get(SAMPLE_UNITS_ATTR, "{}"))
    except ValueError:
        units = {}
    missing = {n: [s for s in table.sample_ids if not np.isfinite(values.at[s, n])]
               for n in names}
    summary = {
        "variables": names,
        "units": {n: units.get(n, "") for n in names},
        "metric": metric,
        "permutations": permutations,
        "seed": seed,
        "samples": len(table.sample_ids),
        "missing": missing,
        "envfit": {"axes": axes, "note": envfit_note},
        "dbrda": dbrda_info,
        "methods": {
            "env_distance": "Euclidean distance of variables standardised to mean 0, sd 1 "
                            "(R dist(scale(env)))",
            "mantel": "vegan mantel: permutations of the community distance matrix",
            "envfit": "vegan envfit/vectorfit on PCoA axes 1-2; arrows of unit length",
            "dbrda": "vegan dbrda / capscale + RsquareAdj; anova(by='terms') and anova(), "
                     "reduced model",
            "alpha_spearman": "Spearman rho, t-approximation p (cor.test exact=FALSE), "
                              "Benjamini-Hochberg q over all index x variable pairs",
            "p_values": "(#{stat* >= stat - sqrt(eps)} + 1) / (permutations + 1)",
        },
        "files": {k: v for k, v in FILES.items() if k != "summary"},
    }
    with atomic_write(outdir / FILES["summary"]) as handle:
        json.dump(summary, handle, indent=2, allow_nan=True)
        handle.write("\n")
    return summary
