"""``soilbiome refdb``: check, add, fetch and list reference databases (docs/references.md)."""

from __future__ import annotations

import json
from pathlib import Path

import click

from soilbiome.refdb.sheet import FORMATS

_path = click.Path(path_type=Path)


@click.group()
def refdb() -> None:
    """Reference databases: the database sheet, the catalogue, downloads.

    A pipeline run downloads nothing: it reads the sheet and verifies each file's SHA-256.
    """


@refdb.command("check")
@click.option("--sheet", type=_path, required=True, help="Database sheet CSV.")
@click.option("--name", required=True, help="Database name in the sheet.")
@click.option("--out", type=_path, help="Write the resolved entry as JSON here.")
def refdb_check(sheet: Path, name: str, out: Path | None) -> None:
    """Find NAME in the sheet and verify the file's SHA-256, reading every byte (a run's
    start-up check re-reads only files changed since they were last hashed)."""
    from soilbiome.io.jsonfile import write_json
    from soilbiome.refdb import load_refdb

    entry = load_refdb(sheet, name, reread=True)
    if out:
        write_json(out, entry.to_dict())
    click.echo(f"reference {entry.name} {entry.version} ({entry.format}, {entry.licence}): "
               f"sha256 verified")


@refdb.command("add")
@click.argument("name")
@click.argument("path", type=_path)
@click.option("--sheet", type=_path, required=True,
              help="Database sheet CSV to write or extend.")
@click.option("--marker", required=True, help="16S, 18S, ITS, COI, shotgun, host ...")
@click.option("--format", "fmt", type=click.Choice(FORMATS), required=True,
              help="sintax / dada2 (FASTA), kraken2 / sylph (database folder), host_fasta.")
@click.option("--licence", "--license", "licence", required=True,
              help="SPDX licence expression of the reference, e.g. CC-BY-4.0.")
@click.option("--citation", required=True, help="How to cite the reference.")
@click.option("--version", "version", default=None,
              help="Release of the reference (default: sha256-<first 12 hex digits>).")
@click.option("--taxonomy", default=None,
              help="Whose names the lineages use: SILVA, GTDB, UNITE, PR2, NCBI ...")
@click.option("--replace", is_flag=True, help="Replace a row of the same name.")
def refdb_add(name: str, path: Path, sheet: Path, marker: str, fmt: str, licence: str,  # noqa: PLR0913
              citation: str, version: str | None, taxonomy: str | None, replace: bool) -> None:
    """List the reference at PATH as NAME in a database sheet, with its SHA-256."""
    from soilbiome.refdb.add import add_reference

    entry = add_reference(sheet, name, path, marker=marker, fmt=fmt, licence=licence,
                          citation=citation, version=version, taxonomy=taxonomy,
                          replace=replace)
    click.echo(f"{sheet}: listed {entry.name} {entry.version} ({entry.format}, "
               f"{entry.licence}) at {entry.path}, sha256 {entry.sha256}")


@refdb.command("fetch")
@click.argument("name")
@click.option("--cache", type=_path, required=True, help="Folder for downloaded references.")
@click.option("--sheet", type=_path, required=True,
              help="Database sheet CSV to write or extend.")
@click.option("--catalogue", type=_path, default=None,
              help="Another catalogue YAML (a site's mirrors); default: the shipped one.")
@click.option("--base-url", default=None,
              help="Mirror: replaces the scheme and host of the catalogue's URLs.")
@click.option("--replace", is_flag=True, help="Replace a row of the same name in the sheet.")
@click.option("--timeout", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Seconds to wait for the server.")
def refdb_fetch(name: str, cache: Path, sheet: Path, catalogue: Path | None,  # noqa: PLR0913
                base_url: str | None, replace: bool, timeout: float) -> None:
    """Download catalogue entry NAME into --cache, verify it and add it to --sheet.

    An interrupted download resumes when the same command is run again.
    """
    from soilbiome.refdb.fetch import fetch_reference

    result = fetch_reference(name, cache=cache, sheet=sheet, catalogue=catalogue,
                             base_url=base_url, replace=replace, timeout=timeout,
                             report=lambda message: click.echo(message, err=True))
    entry = result.entry
    how = "sha256 verified against the catalogue" if result.verified else (
        "sha256 recorded at first download (verify against the publisher)")
    click.echo(f"{sheet}: {entry.name} {entry.version} ({entry.format}, {entry.licence}) at "
               f"{entry.path}; {how}")


@refdb.command("catalogue")
@click.option("--catalogue", type=_path, default=None,
              help="Another catalogue YAML; default: the shipped one.")
@click.option("--json", "as_json", is_flag=True, help="Print the entries as JSON.")
def refdb_catalogue(catalogue: Path | None, as_json: bool) -> None:
    """List the references 'refdb fetch' can download, with licence and checksum status."""
    from dataclasses import asdict

    from soilbiome.refdb.catalogue import load_catalogue

    entries = load_catalogue(catalogue)
    if as_json:
        click.echo(json.dumps([asdict(e) for e in entries.values()], indent=2))
        return
    for e in entries.values():
        checksum = "sha256 given" if e.sha256 else "sha256 recorded at first download"
        click.echo(f"{e.name}\t{e.version}\t{e.marker}\t{e.format}\t{e.taxonomy}\t{e.licence}"
                   f"\t{checksum}")


def register(main: click.Group) -> None:
    """Add the ``refdb`` group to the ``soilbiome`` group."""
    main.add_command(refdb)


def _own_genomes(f):  # noqa: ANN001, ANN202
    """Arguments and options of the builds from a lab's own genomes (build-sylph, -kraken2)."""
    options = [
        click.argument("genomes", type=click.Path(path_type=Path, exists=True, dir_okay=False),
                       nargs=-1, required=True),
        click.option("--lineages", required=True,
                     type=click.Path(path_type=Path, exists=True, dir_okay=False),
                     help="Genome -> lineage TSV (genome<TAB>d__...;s__...)."),
        click.option("--out", type=_path, required=True, help="Database folder to create."),
        click.option("--name", default=None,
                     help="Name in the sheet (default: the folder's name)."),
        click.option("--sheet", type=_path, default=None,
                     help="Also list the database in this sheet (needs --licence and "
                          "--citation)."),
        click.option("--licence", "--license", "licence", default="",
                     help="SPDX licence expression of the genomes."),
        click.option("--citation", default="", help="How to cite the genomes."),
        click.option("--version", "version", default=None,
                     help="Release (default: sha256-<12 hex>)."),
        click.option("--taxonomy", default="GTDB", show_default=True,
                     help="Whose names the lineages use (GTDB, NCBI ...)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _check_sheet(sheet: Path | None, name: str, fmt: str, licence: str, citation: str,
                 version: str | None, taxonomy: str) -> None:
    """Before a build (hours for a large catalogue): the row it would be listed with is
    checked as `refdb add` checks it -- a sheet needs a licence and a citation, a licence
    given is an SPDX expression -- and the sheet must not list ``name`` already."""
    from soilbiome.errors import InputError
    from soilbiome.refdb.add import checked_row, ensure_not_listed

    if sheet is not None and (not licence or not citation):
        raise InputError("--sheet needs --licence and --citation")
    if sheet is not None or licence:
        checked_row(name, "shotgun", fmt, licence, citation or "x", version, taxonomy)
    if sheet is not None:
        ensure_not_listed(sheet, name, remedy="give the build another --name, or remove "
                                              "that row first")


def _list_built(sheet: Path | None, build, fmt: str, label: str, licence: str,  # noqa: ANN001
                citation: str, taxonomy: str) -> None:
    """After a build: list it in ``sheet`` (when given) and print its sheet row."""
    from soilbiome.refdb.add import add_reference

    if sheet is not None:
        entry = add_reference(sheet, build.row["name"], build.folder, marker="shotgun",
                              fmt=fmt, licence=licence, citation=citation,
                              version=build.row["version"], taxonomy=taxonomy,
                              digest=build.sha256)
        click.echo(f"{sheet}: listed {entry.name} {entry.version} ({label}) at {entry.path}, "
                   f"sha256 {entry.sha256}", err=True)
    click.echo(build.row_csv(), nl=False)


@refdb.command("build-sylph")
@_own_genomes
def refdb_build_sylph(genomes: tuple[Path, ...], lineages: Path, out: Path,  # noqa: PLR0913
                      name: str | None, sheet: Path | None, licence: str, citation: str,
                      version: str | None, taxonomy: str) -> None:
    """Sketch GENOMES (FASTA, one genome or MAG per file) into a sylph database folder and
    print its database-sheet row."""
    from soilbiome.refdb.build_sylph import build_sylph

    _check_sheet(sheet, name or out.name, "sylph", licence, citation, version, taxonomy)
    build = build_sylph(genomes, lineages, out, name=name, version=version, licence=licence,
                        citation=citation, taxonomy=taxonomy)
    click.echo(f"{out}: {len(build.genomes)} genome(s) sketched; lineages in "
               f"{out / 'lineages.tsv'}", err=True)
    if build.too_small:
        from soilbiome.shotgun.sylph import MIN_KMERS, SUBSAMPLING

        shown = ", ".join(build.too_small[:10]) + (" ..." if len(build.too_small) > 10 else "")
        click.echo(f"soilbiome: warning: {len(build.too_small)} genome(s) have fewer than "
                   f"{MIN_KMERS} sampled k-mers (one in {SUBSAMPLING}; under about "
                   f"{MIN_KMERS * SUBSAMPLING // 1000} kb), so sylph never reports them: "
                   f"{shown}", err=True)
    _list_built(sheet, build, "sylph", "sylph", licence, citation, taxonomy)


@refdb.command("build-kraken2")
@_own_genomes
@click.option("--read-length", "read_lengths", type=click.IntRange(min=1), multiple=True,
              default=(150,), show_default=True,
              help="Read length of the Bracken-method k-mer distribution (repeat for more; "
                   "a run's --bracken_read_length must be one of them).")
@click.option("--threads", type=click.IntRange(min=1), default=None,
              help="Threads for kraken2-build and kraken2 (default: the cores available).")
def refdb_build_kraken2(genomes: tuple[Path, ...], lineages: Path, out: Path,  # noqa: PLR0913
                        name: str | None, sheet: Path | None, licence: str, citation: str,
                        version: str | None, taxonomy: str, read_lengths: tuple[int, ...],
                        threads: int | None) -> None:
    """Build a Kraken2 database (with its Bracken-method k-mer distributions) from GENOMES
    (FASTA, one genome or MAG per file) and their lineages, and print its database-sheet
    row: the same genomes as `refdb build-sylph`, for Kraken2 beside sylph."""
    import os

    from soilbiome.refdb.build_kraken2 import build_kraken2

    _check_sheet(sheet, name or out.name, "kraken2", licence, citation, version, taxonomy)
    build = build_kraken2(genomes, lineages, out, read_lengths=read_lengths,
                          threads=threads or len(os.sched_getaffinity(0)), name=name,
                          version=version, licence=licence, citation=citation,
                          taxonomy=taxonomy)
    lengths = ", ".join(str(n) for n in build.read_lengths)
    click.echo(f"{out}: {len(build.genomes)} genome(s) in a Kraken2 database with k-mer "
               f"distributions for {lengths} nt reads", err=True)
    _list_built(sheet, build, "kraken2", "Kraken2", licence, citation, taxonomy)
