"""``soilbiome compare``: diversity across stamped tables of several institutions.

Steps (each module documents its own): 1 verify every input (:mod:`.inputs`), 2 combine the
terms (C rules, :func:`soilbiome.sharing.merge.combine_terms`), 3-4 harmonise features and
sample IDs (:mod:`.harmonise`), 5-6 normalise and compute every index with the diversity
engine (:func:`soilbiome.diversity.run_diversity`, the same code as ``soilbiome diversity``),
7 write the stamped merged table (:mod:`.merged`), the TSVs and the report (:mod:`.report`).

Everything is written into a staging folder beside ``out`` that is renamed into place at the
end: a refusal or an error leaves nothing behind.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from soilbiome import __version__
from soilbiome.compare.comparable import NotComparable, merged_context, plan_comparison
from soilbiome.compare.harmonise import harmonise
from soilbiome.compare.inputs import check_inputs, refusals
from soilbiome.compare.merged import (
    build_merged_stamp,
    merged_units,
    stamp_and_sign,
    write_merged_biom,
)
from soilbiome.compare.report import write_report
from soilbiome.compare.retaxonomise import retaxonomise as retaxonomise_tables
from soilbiome.diversity import run_diversity
from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_outputs, atomic_write
from soilbiome.io.biom_reader import read_table
from soilbiome.io.jsonfile import dumps, write_json
from soilbiome.io.textfile import plain_frame, safe_frame
from soilbiome.model.soil import SAMPLE_UNITS_ATTR
from soilbiome.model.table import RELATIVE
from soilbiome.sharing.findings import Severity
from soilbiome.sharing.merge import combine_terms
from soilbiome.soil import run_soil_context
from soilbiome.soil.context import environment, parse_env


class CompareRefused(InputError):
    """The inputs cannot be compared (verification, dates, terms or features)."""

    exit_code = 1


def _terms_lines(merge: dict[str, Any], unverified: Sequence[str]) -> list[str]:
    keys = ("license", "required_output_license", "duo_permission", "duo_modifiers", "regions",
            "embargo_until", "moratorium_until", "abs", "local_contexts")
    lines = [f"# {k}: {dumps(merge.get(k), indent=None, sort_keys=True, default=str)}"
             for k in keys]
    if unverified:
        lines.insert(0, "# UNVERIFIED INPUTS (--allow-unverified): " + ", ".join(unverified))
    return lines


def _write_tsv(frame: pd.DataFrame, path: Path, header: Sequence[str]) -> None:
    """A TSV whose first lines (``#``) carry the combined terms (read with ``comment='#'``);
    text cells a spreadsheet would run as formulas are quoted (``textfile.safe_cell``)."""
    with atomic_write(path) as fh:
        for line in header:
            fh.write(line.replace("\n", " ") + "\n")
        safe_frame(frame).to_csv(fh, sep="\t", index=False, na_rep="NaN", lineterminator="\n")


def site_summary(alpha: pd.DataFrame, metadata: pd.DataFrame, group: str) -> pd.DataFrame:
    """Per-site samples, institutions, reads and mean/sd of each alpha index."""
    a = alpha.join(metadata[[group, "institution"]], how="left")
    given = a[group].notna() & a[group].astype(str).ne("")
    a[group] = a[group].where(given, "(no value)")  # no pandas downcasting warning
    rows = []
    for site, sub in a.groupby(group, sort=True):
        row: dict[str, Any] = {group: site, "samples": len(sub),
                               "institutions": ",".join(sorted(set(sub["institution"])))}
        row["reads_mean"] = float(pd.to_numeric(sub["reads"], errors="coerce").mean())
        for m in ("observed_features", "shannon", "simpson", "chao1", "pielou_evenness"):
            v = pd.to_numeric(sub[m], errors="coerce")
            row[f"{m}_mean"] = float(v.mean())
            row[f"{m}_sd"] = float(v.std(ddof=1)) if v.notna().sum() > 1 else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def run_compare(
    tables: Sequence[str | Path],
    out: str | Path,
    *,
    agreements: Sequence[str | Path] = (),
    group: str = "site",
    rank: str | None = None,
    collapse: bool = False,
    trim_to: int | None = None,
    retaxonomise: str | None = None,
    refdb_sheet: str | Path | None = None,
    accept_mixed_taxonomy: bool = False,
    allow_amplicon_shotgun: bool = False,
    labels: Sequence[str] | None = None,
    to_relative: bool = False,
    rarefaction_depth: int | None = None,
    seed: int = 42,
    permutations: int = 999,
    key: str | Path | None = None,
    allow_unverified: bool = False,
    today: dt.date | None = None,
    declared_license: str | None = None,
    env: Sequence[str] | None = None,
    env_metric: str = "braycurtis",
) -> dict[str, Any]:
    """Compare stamped tables of several institutions (see the module docstring).

    Parameters
    ----------
    tables : sequence of path
        Stamped BIOM 2.1 tables (at least two).
    out : path
        Output folder; must not exist or be empty.
    agreements : sequence of path
        Agreements of the inputs.
    group : str, default "site"
        Sample metadata column to compare (PERMANOVA, PERMDISP, per-site summary).
    rank : str, optional
        Collapse features to this rank (given alone, it collapses; default rank: genus).
    collapse : bool
        Collapse to ``rank`` (genus when not given).
    trim_to : int, optional
        Match ASVs on their first N bases (inputs of one marker and primers, other
        truncation lengths).
    retaxonomise, refdb_sheet : optional
        Re-classify every input's ASVs with reference ``retaxonomise`` of ``refdb_sheet``.
    accept_mixed_taxonomy, allow_amplicon_shotgun : bool
        Compare inputs with different references / amplicon with shotgun (at a rank), the
        caveat recorded in every output (:mod:`.comparable`).
    labels : sequence of str, optional
        Name of each input in every output (default: its file name, made unique).
    to_relative : bool
        Convert every input to relative abundances (no rarefaction).
    rarefaction_depth : int, optional
        Default: the smallest non-empty sample of the merged table.
    seed, permutations : int
    key : path
        The comparer's Ed25519 private key (signs the merged table).
    allow_unverified : bool
        Let in inputs whose stamp could not be verified against an agreement.
    today : datetime.date, optional
        Reference date of the date rules.
    declared_license : str, optional
        Licence the outputs are to carry (checked by C1, C2, C5, C12).
    env : sequence of str, optional
        Numeric soil variables (``ph``, ``tot_org_carb`` ...) of the merged table's sample
        metadata to test against the community (:func:`soilbiome.soil.run_soil_context`:
        Mantel, envfit, dbRDA, alpha correlations), written into ``diversity/``.
    env_metric : str, default "braycurtis"
        Community distance of the ``env`` tests.

    Returns
    -------
    dict
        The content of ``compare.json``.

    Raises
    ------
    CompareRefused
        Naming each refused file and rule.
    """
    today = today or dt.date.today()
    out = Path(out)
    env_list = parse_env(env) if env else []
    if env_list and env_metric not in ("braycurtis", "jaccard"):
        raise InputError(f"--env-metric {env_metric}: compare computes braycurtis and jaccard")
    if len(tables) < 2:
        raise InputError("compare needs at least two tables")
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError("output folder exists and is not empty", location=str(out))
    if key is None:
        raise InputError("no signing key for the merged table: give --key or set "
                         "SOILBIOME_SIGNING_KEY")
    if retaxonomise and not refdb_sheet:
        raise InputError("--retaxonomise NAME needs --refdb-sheet SHEET (the database sheet "
                         "that lists NAME)")
    if trim_to is not None and (collapse or rank):
        raise InputError("--trim-to matches ASVs by sequence; it cannot be combined with "
                         "--rank/--collapse")
    force_rank = collapse or rank is not None
    rank = rank or "genus"
    # 1. verify --------------------------------------------------------------------------
    checks = check_inputs(tables, agreements, today=today, labels=labels)
    refused = refusals(checks, allow_unverified)
    if refused:
        raise CompareRefused("refused: " + "; ".join(refused))
    seen: dict[str, str] = {}
    for c in checks:
        if c.sha256 in seen:
            raise CompareRefused(f"refused: {c.label} is the same file as {seen[c.sha256]} "
                                 f"(SHA-256 {c.sha256[:16]}...): every sample would count twice")
        seen[c.sha256] = c.label
    unverified = [c.path.name for c in checks if c.status == "unverified"]
    # 2. terms ---------------------------------------------------------------------------
    merge = combine_terms([c.terms for c in checks], declared_license=declared_license)
    if merge.refused:
        raise CompareRefused("merge refused by the sharing terms: " + "; ".join(merge.reasons))
    merge_dict = merge.to_dict()
    merge_dict["warnings"] = [f"{f.rule}: {f.reason}" for f in merge.report.findings
                              if f.severity == Severity.WARNING]
    # 3-4. harmonise ------------------------------------------------------------------------
    feature_tables = [read_table(c.path) for c in checks]
    labels_ = [c.label for c in checks]
    try:
        plan = plan_comparison(
            feature_tables, labels_, collapse=force_rank, rank=rank, trim_to=trim_to,
            retaxonomise=retaxonomise, accept_mixed_taxonomy=accept_mixed_taxonomy,
            allow_amplicon_shotgun=allow_amplicon_shotgun)
    except NotComparable as exc:
        raise CompareRefused("not comparable: " + "; ".join(exc.lines)) from None
    taxonomies, reference = None, None
    if retaxonomise:
        taxonomies, reference = retaxonomise_tables(feature_tables, labels_, refdb_sheet,
                                                    retaxonomise, seed=seed)
    h = harmonise(feature_tables, labels_, [c.institution for c in checks],
                  rank=rank, force_rank=force_rank, to_relative=to_relative, trim_to=trim_to,
                  taxonomies=taxonomies, allow_amplicon_shotgun=allow_amplicon_shotgun)
    h.statements[:0] = plan.caveats
    context = merged_context(plan, rank=rank if force_rank else None,
                             value_kind=h.value_kind, reference=reference,
                             ).with_values(soilbiome_version=__version__)
    if group not in h.sample_metadata.columns:
        raise InputError(f"--group '{group}' is not a sample metadata column of any input")
    missing_group = [s for s, v in h.sample_metadata[group].items() if not str(v).strip()]
    units = merged_units([t.attributes.get(SAMPLE_UNITS_ATTR) for t in feature_tables])

    with atomic_outputs() as outputs:  # one staging folder, renamed to --out on success
        stage = outputs.folder(out)
        summary = _write_outputs(
            stage, checks=checks, merge=merge, merge_dict=merge_dict, h=h, group=group,
            rarefaction_depth=rarefaction_depth, seed=seed, permutations=permutations,
            key=Path(key), unverified=unverified, today=today, missing_group=missing_group,
            units=units, env=env_list, env_metric=env_metric, plan=plan, context=context,
            reference=reference,
        )
    return summary


def _write_outputs(stage: Path, *, checks: list, merge: Any, merge_dict: dict, h: Any,
                   group: str, rarefaction_depth: int | None, seed: int, permutations: int,
                   key: Path, unverified: list[str], today: dt.date,
                   missing_group: list[str], units: str, env: list[str],
                   env_metric: str, plan: Any, context: Any,
                   reference: dict | None) -> dict[str, Any]:
    header = _terms_lines(merge_dict, unverified)
    header += [f"# caveat: {line}" for line in plan.caveats]
    inputs = [c.to_dict() | {"context": ctx.to_dict(), "context_summary": ctx.describe()}
              for c, ctx in zip(checks, plan.contexts, strict=True)]
    merged = stage / "merged.biom"
    write_merged_biom(h, merged, {"soilbiome:compare-unverified": ",".join(unverified),
                                  "soilbiome:compare-caveats": dumps(plan.caveats, indent=None),
                                  SAMPLE_UNITS_ATTR: units}, context=context)
    stamp = build_merged_stamp(
        merge, [{k: i[k] for k in ("file", "sha256", "agreement_id", "agreement_sha256",
                                   "status", "institution")} for i in inputs],
        len(h.sample_ids), dt.datetime.now(dt.UTC), unverified,
        context=context.to_dict())
    signed = stamp_and_sign(merged, stamp, key)
    table = read_table(merged)  # the one reader: what is analysed is what was written
    if env:  # refuse a bad --env before any computation (the stage is then removed)
        environment(table, env, where="the merged table of "
                    + ", ".join(str(c.path) for c in checks))
    relative = h.value_kind == RELATIVE
    normalisation = (
        {"method": "relative abundance (no rarefaction): relative-abundance input"}
        if relative else
        {"method": "rarefaction (seeded subsampling without replacement)",
         "depth": rarefaction_depth, "seed": seed}
    )
    div = run_diversity(
        table, stage / "diversity", rarefaction=not relative,
        rarefaction_depth=rarefaction_depth, seed=seed, group_by=group,
        permutations=permutations,
        extra={"compare": {"terms": merge_dict, "unverified_inputs": unverified}},
    )
    soil = None
    if env:  # soil context on the merged table: the same step as `soilbiome diversity --env`
        soil = run_soil_context(table, stage / "diversity", env, metric=env_metric,
                                permutations=permutations, seed=seed)
    if not relative:
        normalisation["depth"] = div["parameters"]["rarefaction"]["depth"]
        normalisation["mode"] = div["parameters"]["rarefaction"]["mode"]
    below = [e for e in div["excluded"] if e["stage"] == "rarefaction"]
    alpha = plain_frame(pd.read_csv(stage / "diversity" / "alpha_diversity.tsv", sep="\t",
                                    index_col="sample", dtype={"sample": str}))
    sites = site_summary(alpha, h.sample_metadata, group)
    _write_tsv(sites, stage / "site_summary.tsv", header)
    alpha_out = alpha.join(h.sample_metadata[[group, "institution", "source_table",
                                              "original_sample_id"]]).reset_index()
    _write_tsv(alpha_out, stage / "alpha_by_sample.tsv", header)
    _write_tsv(pd.DataFrame([{k: v for k, v in i.items() if k not in ("findings",)}
                             | {"findings": "; ".join(f"{f['rule']} {f['severity']} {f['where']}:"
                                                      f" {f['reason']}" for f in i["findings"]),
                                "passed": ",".join(i["passed"])} for i in inputs]),
               stage / "inputs.tsv", header)
    samples = h.sample_metadata[["original_sample_id", "institution", "source_table"]].copy()
    samples.insert(0, "sample", samples.index)
    samples["renamed"] = [s in h.renamed for s in samples.index]
    _write_tsv(samples, stage / "samples.tsv", header)
    _write_tsv(pd.DataFrame(below or [], columns=["sample", "stage", "reason"]),
               stage / "below_depth.tsv", header)
    summary: dict[str, Any] = {
        "created": dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "soilbiome": __version__,
        "today": today.isoformat(),
        "inputs": inputs,
        "unverified_inputs": unverified,
        "terms": merge_dict,
        "features": {"mode": h.feature_mode, "count": len(h.feature_ids), "marker": h.marker,
                     "region": h.region, "value_kind": h.value_kind},
        "statements": h.statements,
        "caveats": plan.caveats,
        "context": context.to_dict(),
        "retaxonomised_with": reference,
        "samples": len(h.sample_ids),
        "renamed_samples": {k: {"original_sample_id": v[0], "source_table": v[1]}
                            for k, v in h.renamed.items()},
        "group": group,
        "samples_without_group": missing_group,
        "normalisation": normalisation,
        "below_depth": below,
        "merged_table": {"file": "merged.biom", **signed},
        "permanova": div.get("permanova", {}),
        "permdisp": div.get("permdisp", {}),
        "soil_context": None if soil is None else {
            k: soil[k] for k in ("variables", "units", "metric", "missing") if k in soil},
        "outputs": {
            "merged": "merged.biom", "diversity": "diversity/", "site_summary":
            "site_summary.tsv", "alpha": "alpha_by_sample.tsv", "inputs": "inputs.tsv",
            "samples": "samples.tsv", "below_depth": "below_depth.tsv",
            "report": "report.html", "terms": "terms.json",
        },
    }
    write_json(stage / "terms.json", merge_dict, default=str)
    write_report(stage / "report.html", summary=summary, table=table, diversity=div,
                 diversity_dir=stage / "diversity", group=group, site_summary=sites)
    write_json(stage / "compare.json", summary, default=str)
    return summary
