"""``soilbiome taxonomy``: harmonise classifier output into one lineage table."""

from __future__ import annotations

from pathlib import Path

import click

_path = click.Path(path_type=Path)


@click.group("taxonomy")
def taxonomy() -> None:
    """Harmonised lineages (domain..species) from any classifier and reference."""


@taxonomy.command("harmonise")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["sintax", "dada2"]),
    required=True,
    help="sintax: vsearch --sintax --tabbedout; dada2: our assignTaxonomy TSV.",
)
@click.option("--input", "input_path", type=_path, required=True, help="Classifier output.")
@click.option(
    "--min-confidence",
    type=click.FloatRange(0.0, 1.0),
    default=0.8,
    show_default=True,
    help="Ranks below this confidence (0-1; DADA2 bootstrap/100) and all ranks under them "
    "are left empty.",
)
@click.option(
    "--reference-name",
    required=True,
    help="Reference database name and version, recorded in every row.",
)
@click.option("--out", type=_path, required=True, help="lineage.tsv to write.")
def harmonise_cmd(
    fmt: str, input_path: Path, min_confidence: float, reference_name: str, out: Path
) -> None:
    """Write a harmonised lineage.tsv from SINTAX or DADA2 classifier output."""
    from soilbiome.taxonomy import harmonise, write_lineage

    lineages = harmonise(fmt, input_path, reference=reference_name, min_confidence=min_confidence)
    written = write_lineage(lineages, out)
    assigned = sum(1 for lineage in lineages if lineage.assigned)
    click.echo(f"{out}: {written} features, {assigned} assigned at least to domain")


def register(main: click.Group) -> None:
    """Add the ``taxonomy`` group to the main command."""
    main.add_command(taxonomy)
