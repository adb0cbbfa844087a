"""``soilbiome export``: publish a stamped table elsewhere (``gbif``: Darwin Core Archive)."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

_existing = click.Path(path_type=Path, exists=True, dir_okay=False)


@click.group("export")
def export() -> None:
    """Export a BIOM table: GBIF (Darwin Core Archive), QIIME 2, phyloseq."""


@export.command("gbif")
@click.argument("table", type=_existing)
@click.option("--agreement", required=True, type=_existing,
              help="Agreement YAML the table was stamped under (verifies the stamp).")
@click.option("--out", type=click.Path(path_type=Path, file_okay=False),
              help="Folder to create for the archive (required unless --check).")
@click.option("--check", is_flag=True,
              help="Only say whether the sharing terms allow a GBIF release, and why.")
@click.option("--target-gene", default="", help="MIxS target_gene (e.g. '16S rRNA').")
@click.option("--target-subfragment", default="", help="MIxS target_subfragment (e.g. V4).")
@click.option("--primer-forward", default="", help="Forward primer sequence.")
@click.option("--primer-reverse", default="", help="Reverse primer sequence.")
@click.option("--primer-names", default="", metavar="FWD,REV", help="Primer names (515F,806R).")
@click.option("--primer-reference", default="", help="Primer reference (DOI or URL).")
@click.option("--seq-meth", default="", help="Sequencing method (e.g. 'Illumina MiSeq').")
@click.option("--sop", default="", help="Protocol URL (protocols.io ...).")
@click.option("--title", default="", help="Dataset title in eml.xml.")
@click.option("--today", type=click.DateTime(formats=["%Y-%m-%d"]), default=None,
              help="Reference date YYYY-MM-DD for embargo/moratorium (default: today).")
def export_gbif_command(table: Path, agreement: Path, out: Path | None, check: bool,
                        target_gene: str, target_subfragment: str, primer_forward: str,
                        primer_reverse: str, primer_names: str, primer_reference: str,
                        seq_meth: str, sop: str, title: str, today: dt.datetime | None) -> None:
    """Write TABLE (a stamped BIOM) as a GBIF Darwin Core Archive into --out.

    Occurrence core + DNA derived data extension, meta.xml and eml.xml (licence from the
    stamp), as GBIF's guide 'Publishing DNA-derived data through biodiversity data platforms'
    describes. Refused, naming the rule and reason, when the stamp does not verify, the licence
    is not CC0 / CC-BY 4.0 / CC-BY-NC 4.0, or the agreement restricts public release.
    """
    from soilbiome.errors import InputError
    from soilbiome.export.gbif import Method, export_gbif, release_report

    day = today.date() if today else None
    if check:
        report = release_report(table, agreement, today=day)
        click.echo(report.to_text())
        sys.exit(report.exit_code)
    if out is None:
        raise InputError("--out is required (or use --check)")
    names = [n.strip() for n in primer_names.split(",")] if primer_names else ["", ""]
    if len(names) != 2:
        raise InputError(f"--primer-names '{primer_names}' is not FWD,REV")
    method = Method(target_gene=target_gene, target_subfragment=target_subfragment,
                    primer_forward=primer_forward, primer_reverse=primer_reverse,
                    primer_name_forward=names[0], primer_name_reverse=names[1],
                    primer_reference=primer_reference, seq_meth=seq_meth, sop=sop, title=title)
    summary = export_gbif(table, agreement, out, method=method, today=day)
    click.echo(f"export gbif: {summary.occurrences} occurrences from {summary.samples} samples "
               f"({summary.method}, {summary.value_kind}), licence {summary.licence} -> "
               f"{out}/dwca.zip")
    for note in summary.notes:
        click.echo(f"note: {note}", err=True)


def register(main: click.Group) -> None:
    """Add ``export`` to the ``soilbiome`` command group."""
    main.add_command(export)


@export.command("qiime2")
@click.argument("table", type=_existing)
@click.option("--out", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for taxonomy.tsv and dna-sequences.fasta.")
def export_qiime2_command(table: Path, out: Path) -> None:
    """Write TABLE's taxonomy (Feature ID, Taxon, Confidence) and ASV sequences for QIIME 2."""
    from soilbiome.export.qiime2 import write_qiime2

    for what, path in write_qiime2(table, out).items():
        click.echo(f"{what}: {path}")


@export.command("phyloseq")
@click.argument("table", type=_existing)
@click.option("--out", required=True, type=click.Path(path_type=Path, dir_okay=False),
              help="The .rds file to write.")
def export_phyloseq_command(table: Path, out: Path) -> None:
    """Write TABLE as a phyloseq object (.rds) made with R's phyloseq."""
    from soilbiome.export.phyloseq import write_phyloseq

    click.echo(f"phyloseq: {write_phyloseq(table, out)}")


@export.command("interop")
@click.argument("table", type=_existing)
@click.option("--outdir", required=True, type=click.Path(path_type=Path, file_okay=False),
              help="Folder for qiime2/ (taxonomy.tsv, dna-sequences.fasta) and "
                   "phyloseq/phyloseq.rds.")
def export_interop_command(table: Path, outdir: Path) -> None:
    """Write TABLE for QIIME 2 and as a phyloseq object, reading it once: the QIIME 2 files are
    written while R loads phyloseq (what the pipeline's INTEROP step runs)."""
    from soilbiome.export.interop import write_interop

    for what, path in write_interop(table, outdir).items():
        click.echo(f"{what}: {path}")
