"""Darwin Core Archive pieces: the terms we write, ``meta.xml``, ``eml.xml`` and the zip.

The archive follows GBIF's guide *Publishing DNA-derived data through biodiversity data
platforms* (Abarenkov et al. 2023, v1.3, https://doi.org/10.35035/doc-vf1a-nr22, section 2.2):
an **Occurrence core** (one record per taxon/ASV detected in a sample, each carrying its sampling
event: ``eventID``, ``eventDate``, coordinates) with the **DNA derived data extension**
(``http://rs.gbif.org/terms/1.0/DNADerivedData``). The guide recommends this over an Event
core because a star-schema archive cannot attach per-occurrence sequences to an Event core.
Text files are UTF-8, tab-separated, one header line, no quoting (tabs and line breaks inside
values are replaced by spaces). ``meta.xml`` follows the Darwin Core text guide
(https://dwc.tdwg.org/text/); ``eml.xml`` the GBIF metadata profile (EML 2.1.1).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Sequence
from pathlib import Path

from soilbiome.io.textfile import safe_cell

DWC = "http://rs.tdwg.org/dwc/terms/"
DC = "http://purl.org/dc/terms/"
GBIF = "http://rs.gbif.org/terms/"
MIXS = "https://w3id.org/mixs/"
OCCURRENCE_ROW_TYPE = DWC + "Occurrence"
DNA_ROW_TYPE = "http://rs.gbif.org/terms/1.0/DNADerivedData"
OCCURRENCE_FILE = "occurrence.txt"
DNA_FILE = "dna_derived_data.txt"

#: Occurrence core columns: name -> term URI (the first column is the record id).
OCCURRENCE_TERMS: dict[str, str] = {
    "occurrenceID": DWC + "occurrenceID",
    "eventID": DWC + "eventID",
    "basisOfRecord": DWC + "basisOfRecord",
    "occurrenceStatus": DWC + "occurrenceStatus",
    "eventDate": DWC + "eventDate",
    "materialSampleID": DWC + "materialSampleID",
    "organismQuantity": DWC + "organismQuantity",
    "organismQuantityType": DWC + "organismQuantityType",
    "sampleSizeValue": DWC + "sampleSizeValue",
    "sampleSizeUnit": DWC + "sampleSizeUnit",
    "samplingProtocol": DWC + "samplingProtocol",
    "decimalLatitude": DWC + "decimalLatitude",
    "decimalLongitude": DWC + "decimalLongitude",
    "geodeticDatum": DWC + "geodeticDatum",
    "country": DWC + "country",
    "locality": DWC + "locality",
    "minimumDepthInMeters": DWC + "minimumDepthInMeters",
    "maximumDepthInMeters": DWC + "maximumDepthInMeters",
    "minimumElevationInMeters": DWC + "minimumElevationInMeters",
    "maximumElevationInMeters": DWC + "maximumElevationInMeters",
    "taxonID": DWC + "taxonID",
    "scientificName": DWC + "scientificName",
    "taxonRank": DWC + "taxonRank",
    "kingdom": DWC + "kingdom",
    "phylum": DWC + "phylum",
    "class": DWC + "class",
    "order": DWC + "order",
    "family": DWC + "family",
    "genus": DWC + "genus",
    "higherClassification": DWC + "higherClassification",
    "identificationRemarks": DWC + "identificationRemarks",
    "identificationReferences": DWC + "identificationReferences",
    "license": DC + "license",
    "rightsHolder": DC + "rightsHolder",
}
#: DNA derived data extension columns (after ``coreid`` = occurrenceID).
DNA_TERMS: dict[str, str] = {
    "DNA_sequence": GBIF + "dna_sequence",
    "target_gene": MIXS + "0000044",
    "target_subfragment": MIXS + "0000045",
    "pcr_primer_forward": GBIF + "pcr_primer_forward",
    "pcr_primer_reverse": GBIF + "pcr_primer_reverse",
    "pcr_primer_name_forward": GBIF + "pcr_primer_name_forward",
    "pcr_primer_name_reverse": GBIF + "pcr_primer_name_reverse",
    "pcr_primer_reference": GBIF + "pcr_primer_reference",
    "seq_meth": MIXS + "0000050",
    "lib_layout": MIXS + "0000041",
    "otu_db": MIXS + "0000087",
    "otu_seq_comp_appr": MIXS + "0000086",
    "otu_class_appr": MIXS + "0000085",
    "env_broad_scale": MIXS + "0000012",
    "env_local_scale": MIXS + "0000013",
    "env_medium": MIXS + "0000014",
    "sop": MIXS + "0000090",
}


def clean(value: object) -> str:
    """A value as one archive cell: text, no tab or line break, ``""`` for None/NaN."""
    if value is None or (isinstance(value, float) and value != value):
        return ""
    return " ".join(str(value).replace("\t", " ").splitlines()).strip()


def cell(value: object) -> str:
    """A value as written to ``occurrence.txt`` / ``dna_derived_data.txt``: :func:`clean`,
    then quoted with ``'`` when a spreadsheet would run it as a formula
    (:func:`soilbiome.io.textfile.safe_cell`; numbers such as ``-5`` stay as they are)."""
    return str(safe_cell(clean(value)))


def meta_xml(occurrence_columns: Sequence[str], dna_columns: Sequence[str]) -> bytes:
    """``meta.xml`` describing the core and the extension file (columns in file order)."""
    ET.register_namespace("", "http://rs.tdwg.org/dwc/text/")
    ns = "{http://rs.tdwg.org/dwc/text/}"
    root = ET.Element(ns + "archive", {"metadata": "eml.xml"})
    common = {"encoding": "UTF-8", "fieldsTerminatedBy": "\\t", "linesTerminatedBy": "\\n",
              "fieldsEnclosedBy": "", "ignoreHeaderLines": "1"}
    core = ET.SubElement(root, ns + "core", {**common, "rowType": OCCURRENCE_ROW_TYPE})
    ET.SubElement(ET.SubElement(core, ns + "files"), ns + "location").text = OCCURRENCE_FILE
    ET.SubElement(core, ns + "id", {"index": "0"})
    for i, name in enumerate(occurrence_columns):
        ET.SubElement(core, ns + "field", {"index": str(i), "term": OCCURRENCE_TERMS[name]})
    ext = ET.SubElement(root, ns + "extension", {**common, "rowType": DNA_ROW_TYPE})
    ET.SubElement(ET.SubElement(ext, ns + "files"), ns + "location").text = DNA_FILE
    ET.SubElement(ext, ns + "coreid", {"index": "0"})
    for i, name in enumerate(dna_columns, start=1):
        ET.SubElement(ext, ns + "field", {"index": str(i), "term": DNA_TERMS[name]})
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def eml_xml(
    *,
    package_id: str,
    title: str,
    creator: str,
    creator_orcids: Sequence[str],
    pub_date: str,
    abstract: str,
    licence_url: str,
    licence_title: str,
    rights_note: str,
    citation: str,
    methods: Sequence[str],
    bounds: tuple[float, float, float, float] | None = None,
    dates: tuple[str, str] | None = None,
) -> bytes:
    """``eml.xml`` in GBIF's metadata profile (EML 2.1.1), licence in ``intellectualRights``.

    ``bounds`` = (west, east, north, south) decimal degrees and ``dates`` = (first, last)
    collection dates give the dataset's coverage when known.
    """
    eml_ns = "eml://ecoinformatics.org/eml-2.1.1"
    xsi = "http://www.w3.org/2001/XMLSchema-instance"
    ET.register_namespace("eml", eml_ns)
    ET.register_namespace("xsi", xsi)
    root = ET.Element(f"{{{eml_ns}}}eml", {
        "packageId": package_id, "system": "http://gbif.org", "scope": "system",
        f"{{{xsi}}}schemaLocation": f"{eml_ns} http://rs.gbif.org/schema/eml-gbif-profile/1.2/"
                                    "eml.xsd",
        "{http://www.w3.org/XML/1998/namespace}lang": "en",
    })
    ds = ET.SubElement(root, "dataset")
    ET.SubElement(ds, "alternateIdentifier").text = package_id
    ET.SubElement(ds, "title", {"{http://www.w3.org/XML/1998/namespace}lang": "en"}).text = title

    def party(tag: str) -> None:
        el = ET.SubElement(ds, tag)
        ET.SubElement(el, "organizationName").text = creator
        for orcid in creator_orcids:
            ET.SubElement(el, "userId", {"directory": "https://orcid.org/"}).text = orcid

    party("creator")
    party("metadataProvider")
    ET.SubElement(ds, "pubDate").text = pub_date
    ET.SubElement(ds, "language").text = "eng"
    ET.SubElement(ET.SubElement(ds, "abstract"), "para").text = abstract
    keywords = ET.SubElement(ds, "keywordSet")
    ET.SubElement(keywords, "keyword").text = "Occurrence"
    ET.SubElement(keywords, "keywordThesaurus").text = (
        "GBIF Dataset Type Vocabulary: http://rs.gbif.org/vocabulary/gbif/dataset_type.xml")
    rights = ET.SubElement(ds, "intellectualRights")
    para = ET.SubElement(rights, "para")
    para.text = "This work is licensed under a "
    link = ET.SubElement(para, "ulink", {"url": licence_url})
    ET.SubElement(link, "citetitle").text = licence_title
    link.tail = ". " + rights_note
    if bounds or dates:
        coverage = ET.SubElement(ds, "coverage")
        if bounds:
            geo = ET.SubElement(coverage, "geographicCoverage")
            ET.SubElement(geo, "geographicDescription").text = "Bounding box of the samples"
            box = ET.SubElement(geo, "boundingCoordinates")
            for tag, value in zip(("westBoundingCoordinate", "eastBoundingCoordinate",
                                   "northBoundingCoordinate", "southBoundingCoordinate"),
                                  bounds, strict=True):
                ET.SubElement(box, tag).text = f"{value:g}"
        if dates:
            span = ET.SubElement(ET.SubElement(coverage, "temporalCoverage"), "rangeOfDates")
            for tag, value in zip(("beginDate", "endDate"), dates, strict=True):
                ET.SubElement(ET.SubElement(span, tag), "calendarDate").text = value
    contact = ET.SubElement(ds, "contact")
    ET.SubElement(contact, "organizationName").text = creator
    meth = ET.SubElement(ds, "methods")
    for step in methods:
        desc = ET.SubElement(ET.SubElement(meth, "methodStep"), "description")
        ET.SubElement(desc, "para").text = step
    gbif = ET.SubElement(ET.SubElement(ET.SubElement(root, "additionalMetadata"), "metadata"),
                         "gbif")
    ET.SubElement(gbif, "dateStamp").text = pub_date
    ET.SubElement(gbif, "citation").text = citation
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def zip_archive(folder: Path, names: Sequence[str], out: Path) -> None:
    """Zip the archive files ``names`` of ``folder`` into ``out`` (deflated, flat)."""
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name in names:
            archive.write(folder / name, arcname=name)
