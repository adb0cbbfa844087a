"""The memory a database-bound task asks for (soilbiome.refdb.memory), on sparse files as
large as real databases: a standard Kraken2 table and GTDB r220 for sylph."""

from __future__ import annotations

import os

import pytest

from soilbiome.refdb.memory import (
    BOWTIE2_SUFFIXES,
    GIB,
    HEADROOM,
    SKETCH,
    SKETCHES_AT_ONCE,
    database_memory,
)


def _sparse(path, size: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.truncate(size)


def test_kraken2_asks_for_its_three_tables_plus_headroom(tmp_path):
    db = tmp_path / "k2"
    _sparse(db / "hash.k2d", 8 * 10**9)  # a capped standard database (k2_standard_08gb)
    _sparse(db / "opts.k2d", 64)
    _sparse(db / "taxo.k2d", 3 * 10**6)
    _sparse(db / "seqid2taxid.map", 50 * GIB)  # not loaded by Kraken2: not counted
    need = database_memory("kraken2", db)
    loaded = 8 * 10**9 + 64 + 3 * 10**6
    assert need % GIB == 0 and loaded + HEADROOM <= need < loaded + HEADROOM + GIB
    assert need == 9 * GIB  # 7.45 GiB + 1 GiB, rounded up


def test_sylph_asks_for_its_sketches_and_the_samples_sketched_at_once(tmp_path):
    db = tmp_path / "sylph"
    _sparse(db / "database.syldb", 13 * 10**9)  # GTDB r220, c200
    _sparse(db / "lineages.tsv", 10**7)
    need = database_memory("sylph", db)
    loaded = 13 * 10**9 + SKETCHES_AT_ONCE * SKETCH
    assert loaded + HEADROOM <= need < loaded + HEADROOM + GIB
    assert need == 16 * GIB  # sylph's authors give about 15 GB for GTDB r220, fastp aside


def test_a_demo_database_asks_for_less_than_process_low(tmp_path):
    db = tmp_path / "k2"
    for name in ("hash.k2d", "opts.k2d", "taxo.k2d"):
        _sparse(db / name, 1000)
    assert database_memory("kraken2", db) == 2 * GIB < 4 * GIB


@pytest.mark.parametrize("fmt", ["sintax", "dada2"])
def test_formats_no_task_loads_whole_give_none(tmp_path, fmt):
    assert database_memory(fmt, tmp_path) is None


def test_a_missing_table_is_an_error_not_zero(tmp_path):
    db = tmp_path / "k2"
    _sparse(db / "hash.k2d", 10)
    with pytest.raises(FileNotFoundError):
        database_memory("kraken2", db)
    assert not os.path.exists(db / "opts.k2d")


def test_a_host_genome_asks_for_its_bowtie2_index_when_it_sits_beside(tmp_path):
    """bowtie2 loads every index file: a wheat-sized large index (.bt2l) counts whole; with no
    index beside the FASTA (the run builds it) the figure is not known at start-up."""
    fasta = tmp_path / "host.fa.gz"
    _sparse(fasta, 4 * 10**9)
    assert database_memory("host_fasta", fasta) is None
    sizes = {"1": 5, "2": 4, "3": 0, "4": 4, "rev.1": 5, "rev.2": 4}
    for part, gb in sizes.items():
        _sparse(tmp_path / f"host.fa.gz.{part}.bt2l", gb * 10**9)
    need = database_memory("host_fasta", fasta)
    assert need == 22 * GIB  # 22e9 bytes = 20.5 GiB, + 1 GiB, rounded up


def test_the_index_files_counted_are_the_ones_bowtie2_build_writes(tmp_path):
    """A real index: bowtie2-build's files are exactly the ones summed."""
    import random
    import subprocess

    rng = random.Random(1)
    fasta = tmp_path / "g.fa"
    fasta.write_text(">c1\n" + "".join(rng.choice("ACGT") for _ in range(20000)) + "\n")
    subprocess.run(["bowtie2-build", "-q", str(fasta), str(fasta)], check=True)
    counted = {p for suffix in BOWTIE2_SUFFIXES if (p := tmp_path / f"g.fa{suffix}").is_file()}
    assert counted == set(tmp_path.glob("g.fa.*")) and len(counted) == 6
    assert database_memory("host_fasta", fasta) == 2 * GIB
