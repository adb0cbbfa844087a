"""Database sheet entries for shotgun: Kraken2 database folders and host genomes."""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from soilbiome.errors import InputError
from soilbiome.refdb import KRAKEN2_FILES, kraken2_digest, load_refdb

HEADER = "name,version,marker,format,licence,citation,path,sha256\n"


@pytest.fixture
def kraken_db(tmp_path):
    db = tmp_path / "k2db"
    db.mkdir()
    for i, name in enumerate(KRAKEN2_FILES):
        (db / name).write_bytes(bytes([i]) * (100 + i))
    return db


def test_kraken2_digest_is_what_coreutils_prints(kraken_db):
    listing = subprocess.run(["sha256sum", *KRAKEN2_FILES], cwd=kraken_db, check=True,
                             capture_output=True).stdout
    assert kraken2_digest(kraken_db) == hashlib.sha256(listing).hexdigest()


def test_kraken2_folder_and_host_fasta_entries_verify(kraken_db, tmp_path):
    host = tmp_path / "host.fa"
    host.write_text(">chr1\nACGT\n")
    sheet = tmp_path / "db.csv"
    sheet.write_text(HEADER
                     + f"k2,1,shotgun,kraken2,MIT,cite,k2db,{kraken2_digest(kraken_db)}\n"
                     + f"host,1,host,host_fasta,CC0-1.0,cite,host.fa,"
                       f"{hashlib.sha256(host.read_bytes()).hexdigest()}\n")
    assert load_refdb(sheet, "k2").path == kraken_db
    assert load_refdb(sheet, "host").format == "host_fasta"
    (kraken_db / "hash.k2d").write_bytes(b"changed")
    with pytest.raises(InputError, match="line 2, database 'k2'.*checksum mismatch"):
        load_refdb(sheet, "k2")


def test_folder_without_kraken2_files_is_named(kraken_db, tmp_path):
    (kraken_db / "taxo.k2d").unlink()
    sheet = tmp_path / "db.csv"
    sheet.write_text(HEADER + "k2,1,shotgun,kraken2,MIT,cite,k2db,00\n")
    with pytest.raises(InputError, match="not a Kraken2 database folder .missing taxo.k2d"):
        load_refdb(sheet, "k2")
