"""``soilbiome export gbif``: a stamped BIOM table as a GBIF-ready Darwin Core Archive.

One occurrence per (sample, feature) with a non-zero value, carrying its sampling event
(``eventID`` = sample, date, coordinates, depth, elevation from the MIxS sample metadata), the
taxon at the lowest assigned rank of the harmonised lineage, and a DNA derived data extension
row (ASV sequence, target gene and region, primers, sequencing method, reference database,
classifier). Quantities follow the GBIF guide: ``organismQuantity`` = reads of the feature in
the sample, ``organismQuantityType`` = ``sampleSizeUnit`` = "DNA sequence reads",
``sampleSizeValue`` = the sample's total reads. A relative-abundance table is exported with its
relative values (type "relative abundance") and no read counts: none are invented.
Shotgun tables export taxon occurrences with the method stated and no sequence.

Before anything is written, :func:`~soilbiome.export.gbif_rules.check_release` decides whether
the table's sharing terms allow a public release; a refusal names each rule and reason. The
archive is built in a temporary folder beside ``--out`` and renamed into place.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from soilbiome import __version__
from soilbiome.errors import InputError, SoilbiomeError
from soilbiome.export import dwc
from soilbiome.export.gbif_rules import GBIF_LICENCES, check_release
from soilbiome.io.atomic import atomic_outputs
from soilbiome.io.biom_reader import read_table
from soilbiome.io.jsonfile import write_json
from soilbiome.model.table import FeatureTable
from soilbiome.sharing.agreement import Agreement, load_agreement
from soilbiome.sharing.findings import Report, Severity
from soilbiome.sharing.stamp_format import STAMP_ATTR
from soilbiome.taxonomy.lineage import RANKS

READS = "DNA sequence reads"
RELATIVE_TYPE = "relative abundance (fraction of the sample)"
ARCHIVE_FILES = (dwc.OCCURRENCE_FILE, dwc.DNA_FILE, "meta.xml", "eml.xml")
ZIP_NAME = "dwca.zip"
SUMMARY_NAME = "export_summary.json"
#: Darwin Core higher-taxon columns filled from lineage ranks of the same name.
DWC_RANKS = ("kingdom", "phylum", "class", "order", "family", "genus")
#: ``soilbiome:marker`` -> MIxS target_gene.
TARGET_GENES = {"16S": "16S rRNA", "18S": "18S rRNA", "ITS": "ITS", "ITS1": "ITS",
                "ITS2": "ITS", "COI": "COI", "12S": "12S rRNA", "23S": "23S rRNA"}
_LAT_LON = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([NS])\s+(\d+(?:\.\d+)?)\s*([EW])\s*$")
_RANGE = re.compile(r"^\s*(-?\d+(?:\.\d+)?)(?:\s*-\s*(-?\d+(?:\.\d+)?))?\s*(m|cm|mm)?\s*$")
_SCALE = {"m": 1.0, "cm": 0.01, "mm": 0.001, None: 1.0}
_MISSING = {"", "missing", "not applicable", "not collected", "not provided", "restricted access",
            "nan"}


class ExportRefused(SoilbiomeError):
    """The table's sharing terms do not allow a public GBIF release; ``report`` says why."""

    exit_code = 4

    def __init__(self, report: Report, location: str) -> None:
        self.report = report
        errors = [f for f in report.sorted_findings() if f.severity == Severity.ERROR]
        reasons = "; ".join(f"[{f.rule}] {f.where}: {f.reason}" for f in errors)
        super().__init__(f"GBIF export refused ({len(errors)} rule(s) failed): {reasons}",
                         location=location)


@dataclass
class Method:
    """What the archive says about how the data were made (CLI options override the table)."""

    target_gene: str = ""
    target_subfragment: str = ""
    primer_forward: str = ""
    primer_reverse: str = ""
    primer_name_forward: str = ""
    primer_name_reverse: str = ""
    primer_reference: str = ""
    seq_meth: str = ""
    sop: str = ""
    title: str = ""


@dataclass
class ExportSummary:
    """What :func:`export_gbif` wrote."""

    out: Path
    occurrences: int
    samples: int
    samples_without_occurrences: list[str]
    licence: str
    value_kind: str
    method: str
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (``export_summary.json``)."""
        return {"out": str(self.out), "occurrences": self.occurrences, "samples": self.samples,
                "samples_without_occurrences": self.samples_without_occurrences,
                "licence": self.licence, "value_kind": self.value_kind, "method": self.method,
                "notes": self.notes}


def _text(value: object) -> str:
    text = dwc.clean(value)
    return "" if text.lower() in _MISSING else text


def _name(value: str) -> str:
    return value.replace("_", " ").strip()


def _stamp(table: FeatureTable) -> dict[str, Any] | None:
    raw = table.attributes.get(STAMP_ATTR)
    try:
        data = json.loads(raw) if raw else None
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _event(md: Mapping[str, object]) -> dict[str, str]:
    """Event columns of one sample from its MIxS metadata (blank where unknown)."""
    out = {"eventDate": _text(md.get("collection_date"))}
    match = _LAT_LON.match(_text(md.get("lat_lon")))
    if match:
        lat = float(match.group(1)) * (-1 if match.group(2) == "S" else 1)
        lon = float(match.group(3)) * (-1 if match.group(4) == "W" else 1)
        out.update(decimalLatitude=f"{lat:g}", decimalLongitude=f"{lon:g}",
                   geodeticDatum="WGS84")
    geo = _text(md.get("geo_loc_name"))
    if geo:
        country, _, locality = geo.partition(":")
        out.update(country=country.strip(), locality=locality.strip())
    for column, lo, hi, default_unit in (("depth", "minimumDepthInMeters",
                                          "maximumDepthInMeters", "m"),
                                         ("elev", "minimumElevationInMeters",
                                          "maximumElevationInMeters", "m")):
        match = _RANGE.match(_text(md.get(column)))
        if match:
            scale = _SCALE[match.group(3) or default_unit]
            low = float(match.group(1)) * scale
            high = float(match.group(2)) * scale if match.group(2) else low
            out.update({lo: f"{low:g}", hi: f"{high:g}"})
    return out


def _taxon(table: FeatureTable, index: int, feature: str, shotgun: bool) -> dict[str, str]:
    names = {rank: _name(str(table.taxonomy.iloc[index][rank])) for rank in RANKS}
    assigned = [r for r in RANKS if names[r]]
    row = {"taxonID": feature if shotgun else f"ASV:{feature}"}
    if assigned:
        lowest = assigned[-1]
        row.update(scientificName=names[lowest], taxonRank=lowest)
    else:
        row.update(scientificName="incertae sedis", taxonRank="")
    for rank in DWC_RANKS:
        if rank in names:
            row[rank] = names[rank]
    if not names.get("kingdom") and names.get("domain") in ("Bacteria", "Archaea"):
        row["kingdom"] = names["domain"]  # GBIF's backbone ranks Bacteria/Archaea as kingdoms
    row["higherClassification"] = " | ".join(names[r] for r in assigned[:-1])
    md = table.observation_metadata
    classifier = str(md.get("classifier", [""] * (index + 1))[index] or "")
    reference = str(md.get("reference", [""] * (index + 1))[index] or "")
    remarks = []
    if assigned:
        conf = md.get(f"confidence_{assigned[-1]}")
        value = str(conf[index]) if conf is not None else ""
        if value:
            remarks.append(f"confidence at {assigned[-1]}: {value}")
    if classifier:
        remarks.append(f"classifier: {classifier}")
    if reference:
        remarks.append(f"reference database: {reference}")
    row["identificationRemarks"] = "; ".join(remarks)
    row["identificationReferences"] = f"soilbiome {__version__}"
    return row


def _sample_value(md: Mapping[str, object], *names: str) -> str:
    for name in names:
        value = _text(md.get(name))
        if value:
            return value
    return ""


@dataclass(frozen=True)
class _Dataset:
    """How the table was made, as the archive states it."""

    shotgun: bool
    relative: bool
    target_gene: str
    subfragment: str
    classifiers: tuple[str, ...]
    references: tuple[str, ...]
    protocol: str


def _describe(table: FeatureTable, method: Method) -> _Dataset:
    md = table.observation_metadata
    shotgun = table.marker.lower() in ("shotgun", "metagenome", "wgs") or "sequence" not in md
    marker = table.marker
    target_gene = method.target_gene or TARGET_GENES.get(marker, "" if shotgun else marker)
    subfragment = method.target_subfragment or ("" if shotgun else table.region)
    classifiers = tuple(sorted({str(c) for c in md.get("classifier", []) if c}))
    references = tuple(sorted({str(r) for r in md.get("reference", []) if r}))
    if shotgun:
        protocol = ("shotgun metagenomic sequencing; taxa from a taxonomic profile"
                    + (f" ({', '.join(classifiers)})" if classifiers else ""))
    else:
        protocol = (f"{target_gene or 'amplicon'} {subfragment}".strip()
                    + " amplicon sequencing (metabarcoding); exact sequence variants (ASVs)"
                    + (f"; taxonomy by {', '.join(classifiers)}" if classifiers else ""))
    return _Dataset(shotgun, not table.is_counts, target_gene, subfragment, classifiers,
                    references, protocol)


def _notes(report: Report, table: FeatureTable, ds: _Dataset, method: Method) -> list[str]:
    """Duties of the release and highly recommended terms the archive lacks."""
    notes = [f"{f.rule} {f.where}: {f.reason}" for f in report.sorted_findings()
             if f.severity in (Severity.INFO, Severity.WARNING)]
    if ds.relative:
        notes.append("relative-abundance table: organismQuantity is the relative abundance; "
                     "no read counts exist, so sampleSizeValue is left empty")
    cols = set(table.sample_metadata.columns)
    checks = (("target_gene", ds.target_gene or "target_gene" in cols, "--target-gene"),
              ("pcr_primer_forward", method.primer_forward, "--primer-forward"),
              ("seq_meth", method.seq_meth or bool(cols & {"seq_meth", "instrument_model"}),
               "--seq-meth"))
    for name, value, option in checks:
        if not value and not (ds.shotgun and name != "seq_meth"):
            notes.append(f"{name} not recorded in the table: give {option} "
                         "(GBIF: highly recommended)")
    return notes


def _sample_dna(md: Mapping[str, object], ds: _Dataset, method: Method) -> dict[str, str]:
    """DNA derived data extension values shared by every occurrence of one sample."""
    return {
        "seq_meth": method.seq_meth or _sample_value(md, "seq_meth", "instrument_model"),
        "lib_layout": _sample_value(md, "lib_layout") or {"true": "single", "false": "paired"}
        .get(_text(md.get("single_end")).lower(), ""),
        "env_broad_scale": _text(md.get("env_broad_scale")),
        "env_local_scale": _text(md.get("env_local_scale")),
        "env_medium": _text(md.get("env_medium")),
        "sop": method.sop or _sample_value(md, "sop"),
        "target_gene": ds.target_gene or _sample_value(md, "target_gene"),
        "target_subfragment": ds.subfragment or _sample_value(md, "target_subfragment"),
        "pcr_primer_forward": method.primer_forward,
        "pcr_primer_reverse": method.primer_reverse,
        "pcr_primer_name_forward": method.primer_name_forward,
        "pcr_primer_name_reverse": method.primer_name_reverse,
        "pcr_primer_reference": method.primer_reference,
        "otu_seq_comp_appr": "; ".join(ds.classifiers),
        "otu_db": "; ".join(ds.references),
        "otu_class_appr": "" if ds.shotgun else "exact sequence variants (ASVs), no clustering",
    }


def _tsv_writer(handle: Any) -> Any:
    # cells are cleaned of tabs and line breaks (dwc.cell): no quoting, as meta.xml declares
    return csv.writer(handle, delimiter="\t", lineterminator="\n", quoting=csv.QUOTE_NONE,
                      escapechar=None, quotechar=None)


def _write_records(folder: Path, table: FeatureTable, ds: _Dataset, method: Method,
                   fixed: Mapping[str, str]) -> tuple[int, list[str]]:
    """Write occurrence.txt and dna_derived_data.txt; return (occurrences, empty samples)."""
    occ_cols, dna_cols = list(dwc.OCCURRENCE_TERMS), list(dwc.DNA_TERMS)
    totals = table.sample_totals()
    counts = table.counts
    sequences = table.observation_metadata.get("sequence")
    taxa: dict[int, dict[str, str]] = {}
    n_occ = 0
    without: list[str] = []
    with (folder / dwc.OCCURRENCE_FILE).open("w", encoding="utf-8", newline="") as occ_fh, \
            (folder / dwc.DNA_FILE).open("w", encoding="utf-8", newline="") as dna_fh:
        occ, dna = _tsv_writer(occ_fh), _tsv_writer(dna_fh)
        occ.writerow(occ_cols)
        dna.writerow(["occurrenceID", *dna_cols])
        md_frame = table.sample_metadata
        for i, sample in enumerate(table.sample_ids):
            start, end = counts.indptr[i], counts.indptr[i + 1]
            values = counts.data[start:end]
            if not (values > 0).any():
                without.append(sample)
                continue
            md = md_frame.loc[sample].to_dict() if sample in md_frame.index else {}
            event = _event(md)
            sample_dna = _sample_dna(md, ds, method)
            for j, value in zip(counts.indices[start:end], values, strict=True):
                if value <= 0:
                    continue  # explicit zeros (padding of empty samples) are no occurrence
                feature = table.feature_ids[j]
                if j not in taxa:
                    taxa[j] = _taxon(table, j, feature, ds.shotgun)
                occurrence_id = f"{sample}:{feature}"
                row = {"occurrenceID": occurrence_id, "eventID": sample,
                       "basisOfRecord": "MaterialSample", "occurrenceStatus": "present",
                       "materialSampleID": sample, "samplingProtocol": ds.protocol,
                       **fixed, **event, **taxa[j]}
                if ds.relative:
                    row.update(organismQuantity=repr(float(value)),
                               organismQuantityType=RELATIVE_TYPE)
                else:
                    row.update(organismQuantity=str(int(value)), organismQuantityType=READS,
                               sampleSizeValue=str(int(totals[i])), sampleSizeUnit=READS)
                occ.writerow([dwc.cell(row.get(c, "")) for c in occ_cols])
                dna_row = dict(sample_dna)
                if sequences is not None and not ds.shotgun:
                    dna_row["DNA_sequence"] = sequences[j]
                dna.writerow([dwc.cell(occurrence_id),
                             *(dwc.cell(dna_row.get(c, "")) for c in dna_cols)])
                n_occ += 1
    (folder / "meta.xml").write_bytes(dwc.meta_xml(occ_cols, dna_cols))
    return n_occ, without


_ISO_DAY = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?")


def _coverage(table: FeatureTable) -> tuple[tuple[float, float, float, float] | None,
                                            tuple[str, str] | None]:
    """Bounding box (west, east, north, south) and first/last collection date of the samples."""
    lats, lons, days = [], [], []
    for sample in table.sample_ids:
        md = table.sample_metadata.loc[sample].to_dict() if sample in (
            table.sample_metadata.index) else {}
        event = _event(md)
        if "decimalLatitude" in event:
            lats.append(float(event["decimalLatitude"]))
            lons.append(float(event["decimalLongitude"]))
        match = _ISO_DAY.match(event.get("eventDate", ""))
        if match:
            days.append(match.group(0))
    bounds = (min(lons), max(lons), max(lats), min(lats)) if lats else None
    return bounds, ((min(days), max(days)) if days else None)


def export_gbif(
    table_path: str | Path,
    agreement: Agreement | str | Path,
    out: str | Path,
    *,
    method: Method | None = None,
    today: dt.date | None = None,
) -> ExportSummary:
    """Write a Darwin Core Archive of a stamped BIOM table into the folder ``out``.

    Parameters
    ----------
    table_path : str or Path
        Stamped BIOM 2.1 table (sidecar ``<table>.sharing.dsse.json`` beside it).
    agreement : Agreement or path
        The agreement the table was stamped under (its trusted keys verify the stamp).
    out : str or Path
        Folder to create (must not exist or be empty): ``occurrence.txt``,
        ``dna_derived_data.txt``, ``meta.xml``, ``eml.xml``, ``dwca.zip`` (the same four files
        zipped, for upload) and ``export_summary.json``.
    method : Method, optional
        Target gene, primers, sequencing method ... where the table does not record them.
    today : datetime.date, optional
        Injectable clock for the embargo/moratorium rules.

    Raises
    ------
    ExportRefused
        The sharing terms do not allow a public release (nothing is written).
    """
    out = Path(out)
    method = method or Method()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError("output folder exists and is not empty; choose a new --out",
                         location=str(out))
    ag = agreement if isinstance(agreement, Agreement) else load_agreement(agreement)
    table = read_table(table_path)
    stamp = _stamp(table)
    report, licence = check_release(table_path, ag, stamp, today=today)
    if report.has_errors or licence is None or stamp is None:
        raise ExportRefused(report, str(table_path))

    ds = _describe(table, method)
    licence_url, licence_title = GBIF_LICENCES[licence]
    attribution = (stamp.get("terms") or {}).get("attribution") or {}
    provider = ag.provider or {}
    creator = str(provider.get("name") or ag.get("agreement.title") or "unknown provider")
    orcids = [c["orcid"] for c in provider.get("contacts") or [] if c.get("orcid")]
    stem = Path(table_path).stem
    with atomic_outputs() as outputs:  # one staging folder, renamed to --out on success
        tmp = outputs.folder(out)
        n_occ, without = _write_records(tmp, table, ds, method,
                                        {"license": licence_url, "rightsHolder": creator})
        title = method.title or (f"Soil {ds.target_gene or table.marker or 'DNA'} DNA-derived "
                                 f"occurrences ({stem})")
        rights = (f"Shared under sharing agreement {stamp.get('agreement_id')} "
                  f"(stamp of {stamp.get('stamped_at')}). ")
        if attribution.get("credit_text"):
            rights += f"Attribution: {attribution['credit_text']}"
        references = (" Reference database(s): " + ", ".join(ds.references)
                      if ds.references else "")
        bounds, dates = _coverage(table)
        (tmp / "eml.xml").write_bytes(dwc.eml_xml(
            package_id=f"{stamp.get('agreement_id')}/{stem}",
            title=title, creator=creator, creator_orcids=orcids,
            pub_date=(today or dt.date.today()).isoformat(),
            abstract=(f"{n_occ} DNA-derived occurrences in {len(table.sample_ids)} soil samples "
                      f"({ds.protocol}), exported by soilbiome {__version__} from a stamped "
                      "BIOM table."),
            licence_url=licence_url, licence_title=licence_title, rights_note=rights.strip(),
            citation=str(attribution.get("credit_text") or title),
            methods=[ds.protocol, "Taxon names: lowest assigned rank of the harmonised lineage "
                     "(domain..species)." + references],
            bounds=bounds, dates=dates,
        ))
        dwc.zip_archive(tmp, ARCHIVE_FILES, tmp / ZIP_NAME)
        summary = ExportSummary(out, n_occ, len(table.sample_ids), without, licence,
                                table.value_kind, "shotgun" if ds.shotgun else "amplicon",
                                _notes(report, table, ds, method))
        write_json(tmp / SUMMARY_NAME, summary.to_dict())
    return summary


def release_report(table_path: str | Path, agreement: Agreement | str | Path,
                   today: dt.date | None = None) -> Report:
    """Rules G1-G6 for ``table_path`` without writing anything (``export gbif --check``)."""
    ag = agreement if isinstance(agreement, Agreement) else load_agreement(agreement)
    table = read_table(table_path)
    return check_release(table_path, ag, _stamp(table), today=today)[0]


__all__ = ["ExportRefused", "ExportSummary", "Method", "export_gbif", "release_report"]
