"""``soilbiome import``: profiles made with other tools -> one harmonised BIOM table."""

from __future__ import annotations

from pathlib import Path

import click

from soilbiome.io.profiler_names import PROFILERS

_file = click.Path(path_type=Path, exists=True, dir_okay=False)


@click.command("import")
@click.option("--profiler", type=click.Choice(PROFILERS), required=True,
              help="Tool that made the FILES.")
@click.argument("files", type=_file, nargs=-1, required=True)
@click.option("--taxonomy", "taxonomy_dir", required=True,
              type=click.Path(path_type=Path, exists=True, file_okay=False),
              help="Taxonomy dump folder (names.dmp + nodes.dmp, NCBI or GTDB-style names).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="BIOM table to write.")
@click.option("--sample-id", "sample_ids", multiple=True,
              help="Sample ID per FILE, in order (default: file name up to its first dot).")
@click.option("--samplesheet", type=_file, default=None,
              help="CSV with 'sample' and the MIxS soil columns (default: 'not provided').")
@click.option("--reference", default="", help="Database the profiles were made with.")
def import_profiles(profiler: str, files: tuple[Path, ...], taxonomy_dir: Path, out: Path,
                    sample_ids: tuple[str, ...], samplesheet: Path | None,
                    reference: str) -> None:
    """Import FILES (one per sample) made by --profiler into a harmonised BIOM table."""
    from soilbiome.errors import InputError
    from soilbiome.io.profiles import read_profile
    from soilbiome.shotgun.table import write_profile_table
    from soilbiome.taxonomy.taxdump import read_taxdump

    if sample_ids and len(sample_ids) != len(files):
        raise InputError(f"{len(sample_ids)} --sample-id for {len(files)} files")
    taxonomy = read_taxdump(taxonomy_dir)
    profiles = [read_profile(profiler, f, sample_ids[i] if sample_ids else None)
                for i, f in enumerate(files)]
    from soilbiome.model.context import ProcessingContext

    summary = write_profile_table(
        profiles, taxonomy, out, samplesheet=samplesheet, classifier=profiler,
        reference=reference or f"{profiler} profile ({taxonomy_dir.name} taxonomy)",
        context=ProcessingContext(method=profiler, reference=reference),
    )
    kind = profiles[0].value_kind
    click.echo(f"{out}: {summary.n_taxa} taxa x {summary.n_samples} samples ({kind})")
    for profile in profiles:  # where every file's values went: nothing is left out
        click.echo(_file_report(profile))
    if summary.unknown_taxa:
        shown = ", ".join(summary.unknown_taxa[:5])
        more = f" and {len(summary.unknown_taxa) - 5} more" if len(summary.unknown_taxa) > 5 else ""
        click.echo(f"soilbiome: warning: {len(summary.unknown_taxa)} taxon ID(s) not in "
                   f"{taxonomy_dir}: {shown}{more}; kept with the lineage the file gives "
                   "(or none)", err=True)


def _file_report(profile) -> str:  # noqa: ANN001 - a Profile
    """One line per imported file: its taxa and where its values went."""
    classified = sum(profile.values.values())
    if profile.value_kind == "relative":
        parts = [f"{100 * classified:.5g}% in taxa", f"{100 * profile.unclassified:.5g}% "
                 "unclassified"]
        if profile.unassigned:
            parts.append(f"{100 * profile.unassigned:.5g}% unassigned (the file's remainder "
                         "to 100%)")
    else:
        parts = [f"{classified:.0f} reads in taxa", f"{profile.unclassified:.0f} unclassified"]
        if profile.unassigned:
            parts.append(f"{profile.unassigned:.0f} unassigned (classified above the table's "
                         "rank)")
    return (f"  {profile.sample} ({profile.path.name}): {len(profile.values)} taxa, "
            + ", ".join(parts))


def register(main: click.Group) -> None:
    """Add ``import`` to the ``soilbiome`` command group."""
    main.add_command(import_profiles)
