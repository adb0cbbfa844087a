"""ITS region extraction (soilbiome.amplicon.its_region) with the real ITSxpress and HMMER."""

from __future__ import annotations

import csv
import hashlib
import subprocess
import sys
from pathlib import Path

import pytest

from soilbiome.amplicon.its_region import extract_its, resolve_region
from soilbiome.errors import InputError

# two ITS2 ASVs of the test_its run (ITS3/ITS4 primers: 5.8S end, ITS2, 28S start) and a 16S ASV
ITS_A = (
    "GAAATGCGATAAGTAGTGTGAATTGCAGAATTCAGTGAATCATCGAATCTTTGAACGCACATTGCGCCCCTTGGTATTCC"
    "ATGGGGCATGCCTGTTCGAGCGTCATTTGTACCCTCAAGCTTTGCTTGGTGTTGGGCGTCTTGTCTCTTCTTTGTGATTA"
    "GACTCGCCTTAAAGTCATTGGCAGCCAGTGTTTTTGGTAGTAAGCGCAGCACAATTTGCGTCTTGGCCCTAAAATACTTG"
    "CGTCCATTAAGCTACTTTCTCACTTTTGACCTCGGATCAGGTAGGGATACCCGCTGAACTTAA"
)
ITS_B = (
    "GAAATGCGATACGTAATGTGAATTGCAGAATTCAGTGAATCATCGAATCTTTGAACGCATATTGCGCTCTTTGGTATTCC"
    "GAAGAGCATGCTTGTTTGAGTATCAGTAAACACCTCAAAGCTTTTGATTTTTTTTGAAAGCTTTGGACTTGAGCAATCCC"
    "AACACCAGTCTTTTTTAGATCGGAGGCGGGTTGCTTGAAATGCAGGTGCAGCTGGACATTCTCCTGAGCTAAAAGCATAT"
    "TCATTTAGTCCCGTCAAACGGATTATTACTTTTGCTGCAGCTAACATAAAGGGAGTTTGACCGTATTGGCTGACTGATGC"
    "AGGATTTCACAGGGGTCGGCAACGACGCTTGTTAAACTCGATCTCAAATCAAGTAAGACTACCCGCTGAACTTAA"
)
BACTERIAL_16S = (
    "TACGTAGGGGGCAAGCGTTGTCCGGAATCATTGGGCGTAAAGAGCGCGTAGGCGGTCCGGTAAGTCCATCGTGAAAGCCA"
    "AGGGCTCAACCCTTGGATGCCGGTGGATACTGTCGGGCTAGAGTCCGGAAGAGGCGAGTGGAATTCCTGGTGTAGCGGTG"
    "AAATGCGCAGATATCAGGAAGAACACCTATGGCGAAGGCAGCTCGCTGGGACGGAACTGACGCTGAGGCGCGAAAGCGTG"
    "GGGAGCAAACAGG"
)


def _md5(seq: str) -> str:
    return hashlib.md5(seq.encode()).hexdigest()


def _tsv(path: Path) -> list[dict]:
    with path.open(newline="") as handle:
        return list(csv.DictReader(handle, delimiter="\t"))


@pytest.fixture
def counts(tmp_path: Path) -> Path:
    # ITS_A with one change in its 5.8S start: a different ASV, the same ITS2 sequence
    flank_variant = ITS_A[:5] + ("A" if ITS_A[5] != "A" else "C") + ITS_A[6:]
    rows = [(ITS_A, [10, 0]), (ITS_B, [3, 4]), (flank_variant, [2, 5]), (BACTERIAL_16S, [7, 1])]
    path = tmp_path / "asv_counts.tsv"
    with path.open("w") as handle:
        handle.write("feature_id\tsequence\ts1\ts2\n")
        for seq, (x, y) in rows:
            handle.write(f"{_md5(seq)}\t{seq}\t{x}\t{y}\n")
    return path


def test_asvs_cut_to_its2_summed_by_its_sequence_and_misses_reported(counts, tmp_path):
    out = tmp_path / "its"
    summary = extract_its(counts, out, region="ITS2")
    assert (summary.n_asvs, summary.n_extracted, summary.n_its_asvs) == (4, 3, 2)
    assert (summary.n_without_region, summary.reads_without_region) == (1, 8)
    table = {r["feature_id"]: r for r in _tsv(out / "asv_counts.tsv")}
    for fid, row in table.items():
        assert fid == _md5(row["sequence"])  # the contract: an ASV ID is its sequence's md5
    cut = {r["asv_id"]: r for r in _tsv(out / "its_extraction.tsv")}
    a, b = cut[_md5(ITS_A)], cut[_md5(ITS_B)]
    its_a = table[a["its_asv_id"]]
    # the flank variant became the same ITS2 sequence as ITS_A: their counts are summed
    assert its_a["sequence"] in ITS_A
    assert len(its_a["sequence"]) == int(a["its_length"]) < len(ITS_A)
    assert (int(its_a["s1"]), int(its_a["s2"])) == (10 + 2, 0 + 5)
    assert (int(table[b["its_asv_id"]]["s1"]), int(table[b["its_asv_id"]]["s2"])) == (3, 4)
    assert cut[_md5(BACTERIAL_16S)]["status"] == "no_its_region"
    assert [r["feature_id"] for r in _tsv(out / "no_its_counts.tsv")] == [_md5(BACTERIAL_16S)]
    per_sample = {r["sample"]: r for r in _tsv(out / "its_summary.tsv")}
    assert per_sample["s1"]["reads"] == "22" and per_sample["s1"]["reads_no_its_region"] == "7"
    assert per_sample["s2"]["reads_its"] == "9" and per_sample["s2"]["reads_no_its_region"] == "1"
    fasta = (out / "asv.fasta").read_text().split()
    assert fasta[1::2] == [r["sequence"] for r in table.values()]


def test_region_from_marker_and_primers():
    assert resolve_region("auto", "16S", "GTGYCAGCMGCCGCGGTAA") is None
    assert resolve_region("auto", "ITS", "GCATCGATGAAGAACGCAGC", "TCCTCCGCTTATTGATATGC") == "ITS2"
    assert resolve_region("auto", "ITS", "CTTGGTCATTTAGAGGAAGTAA", "GCTGCGTTCTTCATCGATGC") == "ITS1"
    assert resolve_region("auto", "ITS", "TCCGTAGGTGAACCTGCGG", "TCCTCCGCTTATTGATATGC") == "ALL"
    assert resolve_region("auto", "ITS1") == "ITS1"
    assert resolve_region("its2", "16S") == "ITS2" and resolve_region("none", "ITS") is None
    with pytest.raises(InputError, match="give --its_region ITS1, ITS2 or ALL"):
        resolve_region("auto", "ITS", "ACGT", "")


def test_cli_refuses_an_unknown_region_in_one_line(counts, tmp_path):
    proc = subprocess.run([sys.executable, "-m", "soilbiome", "its", "--counts", str(counts),
                           "--outdir", str(tmp_path / "its"), "--region", "ITS3"],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr
    assert "--its_region must be auto, none, ITS1, ITS2 or ALL, got 'ITS3'" in proc.stderr
    assert not (tmp_path / "its").exists()
