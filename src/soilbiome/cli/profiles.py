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
@click.option("--taxonomy", "taxonomy_dir", default=None,
              type=click.Path(path_type=Path, exists=True),
              help="Taxonomy dump folder (names.dmp + nodes.dmp, NCBI or GTDB-style names); "
                   "for sylph a genome -> lineage TSV (sylph-tax / GTDB layout); not used for "
                   "singlem (its files carry their lineages).")
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False), required=True,
              help="BIOM table to write.")
@click.option("--sample-id", "sample_ids", multiple=True,
              help="Sample ID per FILE, in order (default: file name up to its first dot; "
                   "sylph and SingleM files name their samples).")
@click.option("--samplesheet", type=_file, default=None,
              help="CSV with 'sample' and the MIxS soil columns (default: 'not provided').")
@click.option("--reference", default="", help="Database the profiles were made with.")
def import_profiles(profiler: str, files: tuple[Path, ...], taxonomy_dir: Path | None,
                    out: Path, sample_ids: tuple[str, ...], samplesheet: Path | None,
                    reference: str) -> None:
    """Import FILES (one per sample) made by --profiler into a harmonised BIOM table."""
    from soilbiome.errors import InputError
    from soilbiome.io.profiler_names import LINEAGE_PROFILERS
    from soilbiome.io.profiles import read_profiles
    from soilbiome.model.context import ProcessingContext
    from soilbiome.shotgun.table import write_profile_table

    if sample_ids and len(sample_ids) != len(files):
        raise InputError(f"{len(sample_ids)} --sample-id for {len(files)} files")
    taxonomy, system = _taxonomy_for(profiler, taxonomy_dir)  # checked before reading files
    profiles = [p for i, f in enumerate(files)
                for p in read_profiles(profiler, f, sample_ids[i] if sample_ids else None)]
    missing: list[str] = []
    if profiler == "sylph":
        from soilbiome.io.genome_lineages import read_genome_lineages
        from soilbiome.shotgun.lineage_profiles import genome_profiles_taxonomy

        # lineages a sylph-tax file gives its genomes; --taxonomy's take precedence
        lineages = {g: lin for p in profiles for g, lin in p.genome_lineages.items()}
        if taxonomy_dir:
            lineages.update(read_genome_lineages(taxonomy_dir))
        taxonomy, missing = genome_profiles_taxonomy(profiles, lineages or None,
                                                     str(taxonomy_dir or files[0]))
    elif profiler == "singlem":
        from soilbiome.shotgun.lineage_profiles import lineage_profiles_taxonomy

        taxonomy = lineage_profiles_taxonomy(profiles, str(files[0]))
    source = taxonomy_dir.name if taxonomy_dir else "its own lineages"
    summary = write_profile_table(
        profiles, taxonomy, out, samplesheet=samplesheet, classifier=profiler,
        reference=reference or f"{profiler} profile ({source} taxonomy)",
        context=ProcessingContext(method=profiler, reference=reference,
                                  taxonomy_system=system),
    )
    kind = profiles[0].value_kind
    click.echo(f"{out}: {summary.n_taxa} taxa x {summary.n_samples} samples ({kind})")
    for profile in profiles:  # where every file's values went: nothing is left out
        click.echo(_file_report(profile))
    unknown = missing or list(summary.unknown_taxa)
    if unknown and profiler not in LINEAGE_PROFILERS or missing:
        shown = ", ".join(unknown[:5])
        more = f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
        what = "genome(s) without a lineage" if profiler == "sylph" else "taxon ID(s) not"
        where = f"in {taxonomy_dir}" if taxonomy_dir else "(no --taxonomy given)"
        click.echo(f"soilbiome: warning: {len(unknown)} {what} {where}: {shown}{more}; kept "
                   "with the lineage the file gives (or none)", err=True)


def _taxonomy_for(profiler: str, taxonomy: Path | None):  # noqa: ANN202
    """The taxonomy dump for taxon-ID profilers (and the taxonomy system of the lineages)."""
    from soilbiome.errors import InputError
    from soilbiome.taxonomy.taxdump import read_taxdump

    if profiler == "singlem":
        if taxonomy is not None:
            raise InputError("--taxonomy is not used with --profiler singlem (its profiles "
                             "carry GTDB lineages)", location=str(taxonomy))
        return None, "GTDB"
    if profiler == "sylph":
        if taxonomy is not None and not taxonomy.is_file():
            raise InputError("--profiler sylph: --taxonomy is a genome -> lineage TSV file, "
                             "not a folder", location=str(taxonomy))
        return None, "GTDB"
    if taxonomy is None or not taxonomy.is_dir():
        raise InputError(f"--profiler {profiler} needs --taxonomy DIR (a taxonomy dump folder)")
    tax = read_taxdump(taxonomy)
    return tax, "GTDB" if tax.namespace == "gtdb" else "NCBI"


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
