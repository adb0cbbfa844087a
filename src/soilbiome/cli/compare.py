"""``soilbiome compare``: diversity across stamped tables of several institutions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import click

_existing = click.Path(path_type=Path, exists=True, dir_okay=False)


class _TableOrDrs(click.ParamType):
    """An existing table file, or ``drs://host/id`` of an approved object on an exchange node."""

    name = "TABLE|drs://HOST/ID"

    def convert(self, value, param, ctx):  # noqa: ANN001, ANN201
        if isinstance(value, str) and value.startswith("drs://"):
            return value
        return _existing.convert(value, param, ctx)


@click.command("compare")
@click.argument("tables", type=_TableOrDrs(), nargs=-1, required=True)
@click.option("--agreement", "agreements", type=_existing, multiple=True,
              help="Agreement of an input (repeatable); matched to stamps by SHA-256.")
@click.option("--group", default="site", show_default=True,
              help="Sample metadata column to compare (PERMANOVA, PERMDISP, per-site summary).")
@click.option("--out", "out", type=click.Path(path_type=Path, file_okay=False), required=True,
              help="Output folder (must not exist or be empty).")
@click.option("--rank", default=None,
              help="Collapse features to this rank through the harmonised lineage (domain .. "
                   "species); without it ASVs are matched by sequence.")
@click.option("--collapse", is_flag=True,
              help="Collapse to --rank (genus when --rank is not given).")
@click.option("--trim-to", type=click.IntRange(min=1), default=None, metavar="N",
              help="Match ASVs on their first N bases (inputs of one marker and primers but "
                   "other truncation lengths); shorter ASVs are left out and counted.")
@click.option("--retaxonomise", default=None, metavar="NAME",
              help="Re-classify every input's ASVs with reference NAME of --refdb-sheet.")
@click.option("--refdb-sheet", type=_existing, default=None,
              help="Database sheet listing the --retaxonomise reference.")
@click.option("--accept-mixed-taxonomy", is_flag=True,
              help="Compare inputs classified with different references (caveat recorded).")
@click.option("--allow-amplicon-shotgun", is_flag=True,
              help="Compare amplicon with shotgun tables at --rank (caveat recorded).")
@click.option("--label", "labels", multiple=True,
              help="Name of each TABLE in every output, in order (default: file name).")
@click.option("--to-relative", is_flag=True,
              help="Convert every input to relative abundances (allows mixing count and "
                   "relative tables; no rarefaction).")
@click.option("--rarefaction-depth", type=click.IntRange(min=1), default=None,
              help="Rarefy to N reads (default: smallest non-empty sample).")
@click.option("--seed", type=click.IntRange(min=0), default=42, show_default=True)
@click.option("--permutations", type=click.IntRange(min=0), default=999, show_default=True)
@click.option("--key", type=_existing, envvar="SOILBIOME_SIGNING_KEY", default=None,
              help="The comparer's Ed25519 private key (default $SOILBIOME_SIGNING_KEY).")
@click.option("--allow-unverified", is_flag=True,
              help="Let in inputs whose stamp cannot be verified against an agreement "
                   "(every output then says so).")
@click.option("--output-license", default=None,
              help="SPDX expression the outputs are to carry (checked by the C rules).")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Reference date YYYY-MM-DD for the date rules (default: today).")
@click.option("--env", "env", default=None, metavar="VAR[,VAR...]",
              help="Numeric soil variables of the merged table (e.g. ph,tot_org_carb) to test "
                   "against the community: Mantel, envfit, dbRDA, alpha correlations.")
@click.option("--env-metric", type=click.Choice(["braycurtis", "jaccard"]),
              default="braycurtis", show_default=True,
              help="Community distance used by the --env tests.")
@click.option("--node", "node_url", default=None,
              help="Exchange node of drs:// inputs (default https://HOST of the URI).")
@click.option("--node-key", type=_existing, default=None,
              help="Member key for the node (default: --key).")
def compare(tables: tuple[Path | str, ...], agreements: tuple[Path, ...], group: str, out: Path,  # noqa: PLR0913
            rank: str | None, collapse: bool, trim_to: int | None, retaxonomise: str | None,
            refdb_sheet: Path | None, accept_mixed_taxonomy: bool,
            allow_amplicon_shotgun: bool, labels: tuple[str, ...],
            to_relative: bool, rarefaction_depth: int | None,
            seed: int, permutations: int, key: Path | None, allow_unverified: bool,
            output_license: str | None, today: dt.datetime | None, env: str | None,
            env_metric: str, node_url: str | None, node_key: Path | None) -> None:
    """Compare stamped TABLES from several institutions into --out.

    A TABLE may be ``drs://HOST/ID``: an object of an exchange node that your member key may
    fetch (an approved request); it is downloaded with its sidecar and agreement into a
    temporary folder and verified like any other input (docs/node.md).
    """
    import tempfile

    from soilbiome.compare import run_compare
    from soilbiome.soil.context import parse_env

    env_list = parse_env(env) if env else None  # refuse a bad --env before any work
    with tempfile.TemporaryDirectory(prefix="soilbiome-node-fetch-") as fetched:
        inputs, node_agreements = _fetch_drs(tables, node_url, node_key or key, Path(fetched))
        summary = run_compare(
            inputs, out, agreements=list(agreements) + node_agreements, group=group, rank=rank,
            collapse=collapse, trim_to=trim_to, retaxonomise=retaxonomise, refdb_sheet=refdb_sheet,
            accept_mixed_taxonomy=accept_mixed_taxonomy,
            allow_amplicon_shotgun=allow_amplicon_shotgun, labels=list(labels) or None,
            to_relative=to_relative, rarefaction_depth=rarefaction_depth,
            seed=seed, permutations=permutations, key=key, allow_unverified=allow_unverified,
            today=today.date() if today else None, declared_license=output_license,
            env=env_list, env_metric=env_metric,
        )
        unverified = summary["unverified_inputs"]
        click.echo(
            f"compare: {len(summary['inputs'])} inputs, {summary['samples']} samples, "
            f"features {summary['features']['mode']}, licence {summary['terms']['license']}"
            + (f", UNVERIFIED: {', '.join(unverified)}" if unverified else "") + f" -> {out}"
        )
        for caveat in summary.get("caveats", []):
            click.echo(f"caveat: {caveat}")
        soil = summary.get("soil_context")
        if soil:
            lacking = "; ".join(f"{v}: {', '.join(s)}" for v, s in soil["missing"].items() if s)
            click.echo(f"soil context: {', '.join(soil['variables'])} against {env_metric} "
                       f"(diversity/soil_*.tsv); samples lacking a variable: {lacking or 'none'}")


def _fetch_drs(tables: tuple[Path | str, ...], node_url: str | None, key: Path | None,
               folder: Path) -> tuple[list[Path], list[Path]]:
    """Local paths of the inputs, drs:// objects fetched; and the fetched agreements."""
    from urllib.parse import urlsplit

    inputs: list[Path] = []
    agreements: list[Path] = []
    for i, t in enumerate(tables):
        if not isinstance(t, str):
            inputs.append(t)
            continue
        from soilbiome.node.client import Client, parse_drs
        from soilbiome.sharing.keys import load_private_key

        if key is None:
            raise click.UsageError(f"{t}: a drs:// input needs --node-key (or --key)")
        _, object_id = parse_drs(t)
        client = Client(node_url or f"https://{urlsplit(t).netloc}", load_private_key(key))
        paths = client.fetch(object_id, folder / f"input-{i}")
        inputs.append(paths["table"])
        agreements.append(paths["agreement"])
    return inputs, agreements


def register(main: click.Group) -> None:
    """Add ``compare`` to the ``soilbiome`` command group."""
    main.add_command(compare)
