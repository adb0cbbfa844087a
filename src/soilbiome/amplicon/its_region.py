"""Fungal ITS region extraction from denoised ASVs (ITSxpress with HMMER).

ITS amplicons carry conserved flanks (the end of 18S / 5.8S / the start of 28S, depending on
the primers) around the variable ITS1 or ITS2 spacer. Taxonomic assignment and diversity are
better done on the spacer alone (Nilsson et al. 2019, Nat Rev Microbiol 17:95; ITSx, Bengtsson-
Palme et al. 2013, Methods Ecol Evol 4:914): two ASVs that differ only in a flank are the same
ITS sequence.

Method (docs/dada2.md): the ASVs of DADA2's merged table go to ITSxpress (Rivers et al. 2018,
F1000Research 7:1418) as single-end reads with exact dereplication (``--cluster_id 1.0``), so
each ASV is trimmed by its own HMMER hits against ITSx's profiles of the chosen taxon group.
This is the ampliseq way (its ``--cut_its`` cuts ASVs after DADA2): DADA2's error model needs
the reads as sequenced, so the cut comes after denoising. Then

* ASVs whose region was found get the ID of their ITS sequence (md5 of it, as every ASV ID);
  ASVs that become the same ITS sequence are summed into one, and the mapping is written;
* ASVs with no ITS region found are moved to their own table and counted per sample: reported,
  never dropped silently.
"""

from __future__ import annotations

import csv
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from soilbiome.errors import InputError, ToolError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.biom_inputs import Counts, read_counts, write_counts
from soilbiome.io.textfile import SafeWriter
from soilbiome.taxonomy.lineage import feature_id_for

REGIONS = ("ITS1", "ITS2", "ALL")
# ITSxpress --taxa choices (ITSx profile groups)
TAXA = ("Alveolata", "Bryophyta", "Bacillariophyta", "Amoebozoa", "Euglenozoa", "Fungi",
        "Chlorophyta", "Rhodophyta", "Phaeophyceae", "Marchantiophyta", "Metazoa", "Oomycota",
        "Haptophyceae", "Raphidophyceae", "Synurophyceae", "Tracheophyta",
        "Eustigmatophyceae", "All")  # Rhizaria left out: ITSxpress 1.8 misspells its choice

# Common fungal ITS primers (5'->3') by the gene they sit in (White et al. 1990; Gardes & Bruns
# 1993; Ihrmark et al. 2012; Toju et al. 2012; Op De Beeck et al. 2014; Taylor et al. 2016).
FORWARD_IN_SSU = {"TCCGTAGGTGAACCTGCGG": "ITS1", "CTTGGTCATTTAGAGGAAGTAA": "ITS1F",
                  "GGAAGTAAAAGTCGTAACAAGG": "ITS5", "CTHGGTCATTTAGAGGAASTAA": "ITS1F_KYO1"}
FORWARD_IN_58S = {"GCATCGATGAAGAACGCAGC": "ITS3", "GATGAAGAACGYAGYRAA": "ITS3_KYO2",
                  "GTGAATCATCGAATCTTTGAA": "ITS86F", "GTGARTCATCGAATCTTTG": "fITS7",
                  "GTGARTCATCRARTCTTTG": "gITS7", "AACTTTYRRCAAYGGATCWCT": "5.8S-Fun"}
REVERSE_IN_58S = {"GCTGCGTTCTTCATCGATGC": "ITS2", "TTYRCTRCGTTCTTCATC": "ITS2_KYO2"}
REVERSE_IN_LSU = {"TCCTCCGCTTATTGATATGC": "ITS4", "AGCCTCCGCTTATTGATATGCTTAART": "ITS4-Fun",
                  "CCGTGTTTCAAGACGGG": "NL4"}


@dataclass(frozen=True)
class ItsSummary:
    """What :func:`extract_its` did."""

    n_asvs: int
    n_extracted: int
    n_its_asvs: int
    n_without_region: int
    reads_without_region: int


def resolve_region(requested: str, marker: str = "", primer_fwd: str = "",
                   primer_rev: str = "") -> str | None:
    """The ITS region to cut, or ``None`` for no cut.

    ``requested`` is ``--its_region``: ``none``, ``ITS1``, ``ITS2``, ``ALL`` or ``auto``. With
    ``auto``, markers that are not ITS get no cut; a marker ``ITS1``/``ITS2`` names its region;
    a generic ``ITS`` marker is resolved from the primers (a forward primer in 5.8S means ITS2;
    one in 18S means ITS1 with a reverse primer in 5.8S, the whole ITS with one in 28S).
    """
    choice = requested.strip()
    if choice.lower() == "none":
        return None
    if choice.upper() in REGIONS:
        return choice.upper()
    if choice.lower() != "auto":
        raise InputError(f"--its_region must be auto, none, ITS1, ITS2 or ALL, got {requested!r}")
    mark = marker.strip().upper()
    if not mark.startswith("ITS"):
        return None
    if mark in ("ITS1", "ITS2"):
        return mark
    fwd, rev = primer_fwd.strip().upper(), primer_rev.strip().upper()
    if fwd in FORWARD_IN_58S:
        return "ITS2"
    if fwd in FORWARD_IN_SSU and rev in REVERSE_IN_58S:
        return "ITS1"
    if fwd in FORWARD_IN_SSU and rev in REVERSE_IN_LSU:
        return "ALL"
    raise InputError(
        f"cannot tell which ITS region the primers span (forward {fwd or 'none'}, reverse "
        f"{rev or 'none'}): give --its_region ITS1, ITS2 or ALL (or none for no cut)")


def run_itsxpress(sequences: dict[str, str], region: str, taxa: str = "Fungi",
                  threads: int = 1) -> dict[str, str]:
    """Trim each sequence to its ITS region with ITSxpress; return ``{id: region}``.

    Sequences in which ITSxpress finds no region are absent from the result.
    """
    if region not in REGIONS:
        raise InputError(f"ITS region must be one of {', '.join(REGIONS)}, got {region!r}")
    if taxa not in TAXA:
        raise InputError(f"ITS taxon group must be one of {', '.join(TAXA)}, got {taxa!r}")
    if not sequences:
        return {}
    beside = Path(sys.executable).with_name("itsxpress")  # installed with soilbiome in .venv
    exe = str(beside) if beside.is_file() else shutil.which("itsxpress")
    if exe is None:
        raise ToolError("itsxpress not found on PATH; run 'make setup'")
    with tempfile.TemporaryDirectory(prefix="soilbiome-its-") as tmp:
        reads = Path(tmp) / "asvs.fastq"
        # ASVs are error-corrected: every base gets the same high quality
        reads.write_text("".join(f"@{i}\n{s}\n+\n{'I' * len(s)}\n" for i, s in sequences.items()))
        trimmed = Path(tmp) / "trimmed.fastq"
        cmd = [exe, "--fastq", str(reads), "--single_end", "--outfile", str(trimmed),
               "--region", region, "--taxa", taxa, "--cluster_id", "1.0",
               "--threads", str(threads), "--tempdir", tmp, "--log", str(Path(tmp) / "its.log")]
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=tmp)
        if proc.returncode != 0 or not trimmed.is_file():
            log = Path(tmp) / "its.log"
            text = (proc.stderr + (log.read_text() if log.is_file() else "")).strip()
            tail = " ".join(text.splitlines()[-3:])
            raise ToolError(f"itsxpress failed (exit {proc.returncode}): {tail}")
        lines = trimmed.read_text().splitlines()
    found: dict[str, str] = {}
    for k in range(0, len(lines) - 3, 4):
        asv = lines[k][1:].split()[0]
        seq = lines[k + 1].strip().upper()
        if asv not in sequences:
            raise ToolError(f"itsxpress returned an unknown read {asv!r}")
        if seq:
            found[asv] = seq
    return found


def collapse(counts: Counts, regions: dict[str, str]) -> tuple[
        list[str], list[str], np.ndarray, list[int], dict[str, str]]:
    """Sum the ASVs that share an ITS sequence.

    Returns the ITS ASV IDs and sequences (order of first appearance), their count matrix,
    the row indices of ASVs with no region, and ``{ASV ID: ITS ASV ID}``.
    """
    index: dict[str, int] = {}
    ids: list[str] = []
    seqs: list[str] = []
    rows: list[np.ndarray] = []
    missing: list[int] = []
    mapping: dict[str, str] = {}
    for i, asv in enumerate(counts.feature_ids):
        seq = regions.get(asv)
        if seq is None:
            missing.append(i)
            continue
        fid = feature_id_for(seq)
        mapping[asv] = fid
        if fid not in index:
            index[fid] = len(ids)
            ids.append(fid)
            seqs.append(seq)
            rows.append(counts.matrix[i].astype(np.int64))
        else:
            rows[index[fid]] = rows[index[fid]] + counts.matrix[i]
    n_samples = len(counts.sample_ids)
    matrix = np.vstack(rows) if rows else np.zeros((0, n_samples), dtype=np.int64)
    return ids, seqs, matrix, missing, mapping


def extract_its(counts_path: str | Path, outdir: str | Path, *, region: str,
                taxa: str = "Fungi", threads: int = 1) -> ItsSummary:
    """Cut the ASVs of ``asv_counts.tsv`` to their ITS region and write five files to ``outdir``.

    ``asv_counts.tsv`` (ITS ASVs, same columns), ``asv.fasta`` (their sequences),
    ``no_its_counts.tsv`` (ASVs with no region
    found), ``its_extraction.tsv`` (per ASV: status, lengths, ITS ASV ID) and
    ``its_summary.tsv`` (per sample: reads, reads in ASVs with and without an ITS region).
    Every check runs before anything is written.
    """
    counts = read_counts(counts_path)
    if threads < 1:
        raise InputError(f"threads must be >= 1, got {threads}")
    sequences = dict(zip(counts.feature_ids, counts.sequences, strict=True))
    regions = run_itsxpress(sequences, region, taxa, threads)
    ids, seqs, matrix, missing, mapping = collapse(counts, regions)
    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    write_counts(out / "asv_counts.tsv", ids, seqs, counts.sample_ids, matrix)
    write_counts(out / "no_its_counts.tsv", [counts.feature_ids[i] for i in missing],
                 [counts.sequences[i] for i in missing], counts.sample_ids,
                 counts.matrix[missing])
    with atomic_write(out / "asv.fasta") as handle:
        handle.write("".join(f">{i}\n{q}\n" for i, q in zip(ids, seqs, strict=True)))
    with atomic_write(out / "its_extraction.tsv") as handle:
        writer = SafeWriter(csv.writer(handle, delimiter="\t", lineterminator="\n"))
        writer.writerow(["asv_id", "asv_length", "status", "its_asv_id", "its_length", "region"])
        for asv, seq in sequences.items():
            its = regions.get(asv)
            writer.writerow([asv, len(seq), "extracted" if its else "no_its_region",
                             mapping.get(asv, ""), len(its) if its else "", region])
    total = counts.matrix.sum(axis=0)
    without = counts.matrix[missing].sum(axis=0) if missing else np.zeros_like(total)
    with atomic_write(out / "its_summary.tsv") as handle:
        writer = SafeWriter(csv.writer(handle, delimiter="\t", lineterminator="\n"))
        writer.writerow(["sample", "reads", "reads_its", "reads_no_its_region",
                         "fraction_no_its_region"])
        for s, sample in enumerate(counts.sample_ids):
            frac = f"{without[s] / total[s]:.6g}" if total[s] else "NA"
            writer.writerow([sample, int(total[s]), int(total[s] - without[s]), int(without[s]),
                             frac])
    return ItsSummary(n_asvs=len(counts.feature_ids), n_extracted=len(regions),
                      n_its_asvs=len(ids), n_without_region=len(missing),
                      reads_without_region=int(without.sum()))
