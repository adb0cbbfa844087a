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

Every test row has a ``status`` (``computed`` or ``not computable``) and a ``reason``; a not
computable test has no statistic and no p-value (``NaN`` in the TSV, beside its reason), a
computed one gives ``permutations`` and ``p_min`` (the smallest p-value it can give) with
its p-value. q-values are computed over the computable correlations only.

A sample missing a variable is left out of the tests that use that variable only (the
joint Mantel test and dbRDA use samples with every variable), and is listed in
``soil_excluded.tsv``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.jsonfile import loads, write_json
from soilbiome.io.textfile import plain_frame, safe_frame
from soilbiome.model.soil import SAMPLE_UNITS_ATTR, SOIL_FIELDS, is_missing, parse_value
from soilbiome.model.stat_result import COMPUTED, NOT_COMPUTABLE, p_min
from soilbiome.model.table import FeatureTable
from soilbiome.soil import stats

#: Alpha indices correlated with the variables (columns of ``alpha_diversity.tsv``).
ALPHA_INDICES: tuple[str, ...] = (
    "observed_features", "shannon", "simpson", "chao1", "pielou_evenness",
)
METHODS = {
    "env_distance": "Euclidean distance of variables standardised to mean 0, sd 1 "
                    "(R dist(scale(env)))",
    "mantel": "vegan mantel: permutations of the community distance matrix",
    "envfit": "vegan envfit/vectorfit on PCoA axes 1-2; arrows of unit length",
    "dbrda": "vegan dbrda / capscale + RsquareAdj; anova(by='terms') and anova(), reduced model",
    "alpha_spearman": "Spearman rho, t-approximation p (cor.test exact=FALSE), "
                      "Benjamini-Hochberg q over all index x variable pairs",
    "p_values": "(#{stat* >= stat - sqrt(eps)} + 1) / (permutations + 1); p_min = "
                "1 / (permutations + 1) is the smallest p-value a permutation test can give",
    "status": "computed, or not computable with the reason (too few samples, constant "
              "distances, a constant variable, collinear variables, a NaN or infinite "
              "statistic): no statistic and no p-value then",
}
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


def _column(md: pd.DataFrame, name: str, where: str | None) -> list[float]:
    """One sample metadata column as floats (NaN = missing), or the error naming the sample
    whose value is not a number, or saying that no sample has a value."""
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
    return values


def environment(table: FeatureTable, names: Sequence[str], *,
                where: str | None = None) -> pd.DataFrame:
    """The named sample metadata columns as floats (NaN = missing), samples in table order.
    ``where``: what messages name (default: the table's file).

    Raises
    ------
    InputError
        A name that is not a sample metadata column, or a column that is not numeric.
    """
    md = table.sample_metadata
    where = where or (str(table.path) if table.path else None)
    out = {}
    for name in names:
        if name not in md.columns:
            numeric = []
            for column in md.columns:  # the columns --env would take
                try:
                    _column(md, str(column), where)
                    numeric.append(column)
                except InputError:
                    pass
            raise InputError(
                f"--env '{name}' is not a sample metadata column of the table "
                f"(numeric columns: {', '.join(map(str, numeric)) or 'none'})",
                location=where,
            )
        out[name] = _column(md, name, where)
    return pd.DataFrame(out, index=pd.Index(table.sample_ids, name="sample"), dtype=float)


def _read_matrix(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError("diversity output not found (run soilbiome diversity first)",
                         location=str(path))
    frame = pd.read_csv(path, sep="\t", index_col=0, dtype={0: str})
    frame.index = frame.index.astype(str)
    frame.columns = frame.columns.astype(str)
    return plain_frame(frame)  # sample IDs quoted against formula injection, as they were


def _nan(value: float | None) -> float:
    return math.nan if value is None else value


def _status(status: str, reason: str | None, permutations: int | None = None) -> dict:
    out = {"status": status, "reason": reason or ""}
    if permutations is not None:
        out.update(permutations=permutations,
                   p_min=_nan(p_min(permutations) if status == COMPUTED else None))
    return out


def _write_tsv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_write(path) as handle:
        safe_frame(frame).to_csv(handle, sep="\t", index=False, na_rep="NaN",
                                 lineterminator="\n")


@dataclass
class _Tests:
    """One soil-context run: the data, the test settings and every exclusion so far."""

    table: FeatureTable
    values: pd.DataFrame
    names: list[str]
    metric: str
    permutations: int
    seed: int
    excluded: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        totals = self.table.sample_totals()
        self.empty = {s for s, t in zip(self.table.sample_ids, totals, strict=True) if t == 0}
        self.no_distance = f"no {self.metric} distance (empty sample or excluded by rarefaction)"

    def keep(self, test: str, variables: Sequence[str], pool: set[str], pool_reason: str
             ) -> list[str]:
        """Samples usable by ``test``; every other sample is recorded with its reason."""
        kept = []
        for sample in self.table.sample_ids:
            lacking = [v for v in variables if not np.isfinite(self.values.at[sample, v])]
            if sample in self.empty:  # no community: 0 observed features is not a soil's value
                reason, variable = "empty sample (0 reads)", ""
            elif lacking:
                reason, variable = f"no value for {', '.join(lacking)}", ",".join(lacking)
            elif sample not in pool:
                reason, variable = pool_reason, ""
            else:
                kept.append(sample)
                continue
            self.excluded.append({"test": test, "sample": sample, "variable": variable,
                                  "reason": reason})
        return kept

    def mantel(self, beta: pd.DataFrame) -> list[dict]:
        """All variables together, then each alone; Pearson and Spearman."""
        rows = []
        sets = [self.names] + ([[n] for n in self.names] if len(self.names) > 1 else [])
        for variables in sets:
            label = "+".join(variables)
            kept = self.keep(f"mantel:{label}", variables, set(beta.index), self.no_distance)
            env, problem = None, None
            if len(kept) < 3:
                problem = f"fewer than 3 samples ({len(kept)})"
            else:
                try:
                    env = stats.env_distance(self.values.loc[kept, list(variables)].to_numpy())
                except stats.SoilStatsError as exc:
                    problem = str(exc)
            for method in ("pearson", "spearman"):
                row = {"variables": label, "metric": self.metric, "method": method,
                       "n_samples": len(kept)}
                if problem is not None:
                    row.update(statistic=math.nan, p_value=math.nan,
                               **_status(NOT_COMPUTABLE, problem, self.permutations))
                else:
                    res = stats.mantel(beta.loc[kept, kept].to_numpy(), env, method=method,
                                       permutations=self.permutations, seed=self.seed)
                    row.update(statistic=_nan(res.statistic), p_value=_nan(res.p_value),
                               **_status(res.status, res.reason, self.permutations))
                rows.append(row)
        return rows

    def envfit(self, coords: pd.DataFrame | None) -> tuple[list[dict], list[str]]:
        """Each variable as a vector on PCoA axes 1-2; returns rows and the axis names."""
        if coords is None or coords.shape[1] < 2:
            return [], []
        axes = list(coords.columns[:2])
        rows = []
        for name in self.names:
            kept = self.keep(f"envfit:{name}", [name], set(coords.index),
                             f"not in the {self.metric} PCoA")
            row = {"variable": name, "metric": self.metric, "n_samples": len(kept)}
            fit = stats.envfit_vectors(coords.loc[kept, axes].to_numpy(),
                                       self.values.loc[kept, name].to_numpy(), name,
                                       permutations=self.permutations, seed=self.seed)
            direction = fit.direction or (math.nan, math.nan)
            row.update({axes[0]: direction[0], axes[1]: direction[1], "r2": _nan(fit.r2),
                        "p_value": _nan(fit.p_value),
                        **_status(fit.status, fit.reason, self.permutations)})
            rows.append(row)
        return rows, axes

    def dbrda(self, beta: pd.DataFrame) -> tuple[list[dict], dict]:
        """dbRDA and capscale of the community distance on all variables (complete cases)."""
        kept = self.keep("dbrda", self.names, set(beta.index), self.no_distance)
        info: dict = {"n_samples": len(kept), "variables": self.names, "metric": self.metric}
        rows = []
        for method in ("dbrda", "capscale"):
            res = stats.dbrda(beta.loc[kept, kept].to_numpy(),
                              self.values.loc[kept, self.names].to_numpy(), self.names,
                              permutations=self.permutations, seed=self.seed,
                              method=method)
            if res.status != COMPUTED:
                info[method] = {"status": res.status, "reason": res.reason}
                rows.append({"method": method, "term": "model", "df": len(self.names),
                             "sum_of_squares": math.nan, "f": math.nan, "p_value": math.nan,
                             **_status(res.status, res.reason, self.permutations)})
                continue
            for term in (*res.terms, res.model):
                rows.append({"method": method, "term": term.term, "df": term.df,
                             "sum_of_squares": term.sum_of_squares, "f": _nan(term.f),
                             "p_value": _nan(term.p_value),
                             **_status(term.status, term.reason, self.permutations)})
            rows.append({"method": method, "term": "residual", "df": res.residual_df,
                         "sum_of_squares": res.residual_ss, "f": math.nan, "p_value": math.nan,
                         "permutations": self.permutations, "p_min": math.nan,
                         "status": COMPUTED, "reason": "residual: no F and no p-value"})
            info[method] = {"status": COMPUTED, "reason": None, "r2": res.r2,
                            "r2_adjusted": res.r2_adjusted, "total_inertia": res.total_ss,
                            "permutations": self.permutations, "p_min": res.p_min}
        return rows, info

    def spearman(self, alpha: pd.DataFrame) -> pd.DataFrame:
        """Spearman's rho of every alpha index with every variable, BH q over all pairs."""
        rows = []
        for index in (i for i in ALPHA_INDICES if i in alpha.columns):
            column = pd.to_numeric(alpha[index], errors="coerce")
            has_alpha = {s for s, v in column.items() if np.isfinite(v)}
            for name in self.names:
                kept = self.keep(f"alpha:{index}:{name}", [name], has_alpha,
                                 f"no {index} value (empty sample or excluded by rarefaction)")
                r = stats.spearman(column.loc[kept].to_numpy(),
                                   self.values.loc[kept, name].to_numpy(), index, name)
                rows.append({"index": index, "variable": name, "rho": _nan(r.rho),
                             "p_value": _nan(r.p_value), "n_samples": len(kept),
                             **_status(r.status, r.reason), "p_method": r.p_method or ""})
        frame = pd.DataFrame(rows, columns=["index", "variable", "rho", "p_value", "n_samples",
                                            "status", "reason", "p_method"])
        frame.insert(4, "q_value", stats.benjamini_hochberg(frame["p_value"].to_numpy()))
        return frame


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
    run = _Tests(table, values, names, metric, permutations, seed)
    mantel_rows = run.mantel(beta)
    envfit_rows, axes = run.envfit(coords)
    dbrda_rows, dbrda_info = run.dbrda(beta)
    spearman = run.spearman(alpha)

    tail = ["permutations", "p_min", "status", "reason"]
    _write_tsv(pd.DataFrame(mantel_rows, columns=["variables", "metric", "method", "n_samples",
                                                  "statistic", "p_value", *tail]),
               outdir / FILES["mantel"])
    _write_tsv(pd.DataFrame(envfit_rows, columns=["variable", "metric", "n_samples", *axes,
                                                  "r2", "p_value", *tail]),
               outdir / FILES["envfit"])
    _write_tsv(pd.DataFrame(dbrda_rows, columns=["method", "term", "df", "sum_of_squares", "f",
                                                 "p_value", *tail]), outdir / FILES["dbrda"])
    _write_tsv(spearman, outdir / FILES["alpha_spearman"])
    _write_tsv(pd.DataFrame(run.excluded, columns=["test", "sample", "variable", "reason"]),
               outdir / FILES["excluded"])
    try:
        units = loads(table.attributes.get(SAMPLE_UNITS_ATTR, "{}"))
    except ValueError:
        units = {}
    summary = {
        "variables": names,
        "units": {n: units.get(n, "") for n in names},
        "metric": metric,
        "permutations": permutations,
        "p_min": p_min(permutations),
        "seed": seed,
        "samples": len(table.sample_ids),
        "missing": {n: [s for s in table.sample_ids if not np.isfinite(values.at[s, n])]
                    for n in names},
        "envfit": {"axes": axes,
                   "note": "" if axes else f"no {metric} PCoA with two axes: no fitted vectors"},
        "dbrda": dbrda_info,
        "methods": METHODS,
        "files": {k: v for k, v in FILES.items() if k != "summary"},
    }
    write_json(outdir / FILES["summary"], summary)
    return summary
