"""A Kraken2 and a sylph database of a realistic size, from one genome set, for the shotgun bench.

The demo databases (``runtime/build_shotgun_demo.sh``) hold two genomes' gene centroids (25 Mbp,
a 34 MB Kraken2 hash table): Kraken2's table then sits largely in the CPU's caches and Kraken2
costs far less per read than with a real database (GBs; every minimizer lookup a cache miss).
:func:`build_bench_databases` builds, under ``bench/out/`` (never committed), both kinds of
database from the SAME genomes: the two demo genomes plus ``n`` **synthetic** genomes.

The synthetic genomes are random sequence, seeded, one per file, with bacterial sizes and GC
contents (length log-normal around 4.5 Mbp, clipped to 1.5-9 Mbp; GC uniform in 0.40-0.72, the
range of soil bacteria). They are not biology: they give the Kraken2 hash table the size of a real
database (about 1.9 bytes per base: 150 genomes, 0.69 Gbp, give a table of 1.34 GB) so
its lookups miss the caches as with a real one, and the sylph database the same genomes.

The Bracken k-mer distribution of the large database is **derived, not computed**: the demo
genomes' rows are the demo database's (random sequence shares no 35-mer with them or with each
other, with overwhelming probability), and each synthetic genome maps all its read-length
windows to itself. Computing it (``soilbiome shotgun kmer-distribution``) would take longer than
the bench and changes nothing it measures.
"""

from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
DEMO_LIB = ROOT / "assets" / "test-data" / "shotgun" / "kraken2_library"
DEMO_LINEAGES = ROOT / "assets" / "test-data" / "shotgun" / "sylph_demo_lineages.tsv"
DEMO_KRAKEN2 = ROOT / ".runtime" / "kraken2_demo"

#: taxon IDs of the synthetic lineage (above NCBI's range in use; their own branch of Bacteria)
_CHAIN = [(8_999_990, "phylum", "Syntheticota"), (8_999_991, "class", "Synthetia"),
          (8_999_992, "order", "Syntheticales"), (8_999_993, "family", "Syntheticaceae"),
          (8_999_994, "genus", "Synthetica")]
_FIRST_SPECIES = 9_000_001
_GTDB = "d__Bacteria;p__Syntheticota;c__Synthetia;o__Syntheticales;f__Syntheticaceae;g__Synthetica"
READ_LENGTH = 100  # the bench's reads (Bracken read length of the test profile)


def synthetic_genome(rng: np.random.Generator) -> tuple[bytes, float]:
    """One random genome (bases as bytes) with a bacterial length and GC content."""
    length = int(np.clip(rng.lognormal(np.log(4.5e6), 0.35), 1.5e6, 9e6))
    gc = float(rng.uniform(0.40, 0.72))
    p = [(1 - gc) / 2, gc / 2, gc / 2, (1 - gc) / 2]
    codes = rng.choice(4, size=length, p=p).astype(np.uint8)
    return np.frombuffer(b"ACGT", dtype=np.uint8)[codes].tobytes(), gc


def _dmp(fields: list[str]) -> str:
    return "\t|\t".join(fields) + "\t|\n"


def _run(cmd: list[str], log: Path) -> None:
    with log.open("a") as handle:
        proc = subprocess.run(cmd, stdout=handle, stderr=subprocess.STDOUT, check=False)
    if proc.returncode != 0:
        sys.exit(f"bench: {' '.join(cmd[:3])} failed (log: {log})")


def build_bench_databases(n: int, seed: int, out: Path, threads: int) -> Path:
    """Build (once) both databases of the demo + ``n`` synthetic genomes; return their sheet.

    The sheet lists ``bench_kraken2`` (format kraken2, with its 100-mer k-mer distribution) and
    ``bench_sylph`` (format sylph). A complete build under ``out`` is reused.
    """
    sheet = out / "refdb.csv"
    if (out / ".complete").is_file():
        return sheet
    soilbiome = str(Path(sys.executable).parent / "soilbiome")
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    genomes = tmp / "genomes"
    kdb = tmp / "kraken2"
    (kdb / "taxonomy").mkdir(parents=True)
    genomes.mkdir()
    log = tmp / "build.log"
    rng = np.random.default_rng(seed)

    # taxonomy: the demo's nodes plus the synthetic branch
    names = (DEMO_LIB / "names.dmp").read_text()
    nodes = (DEMO_LIB / "nodes.dmp").read_text()
    tail = ["0", "1", "11", "1", "0", "1", "0", "0", ""]
    parent = 2
    for taxid, rank, name in _CHAIN:
        names += _dmp([str(taxid), name, "", "scientific name"])
        nodes += _dmp([str(taxid), str(parent), rank, "", *tail])
        parent = taxid
    lineages = ["genome\tlineage"] + DEMO_LINEAGES.read_text().splitlines()[1:]
    library = kdb / "bench_library.fna"
    distrib = (DEMO_KRAKEN2 / f"database{READ_LENGTH}mers.kmer_distrib").read_text()
    total = 0
    with library.open("wb") as lib:
        for path in sorted(DEMO_LIB.glob("*.ffn.gz")):  # '<taxid>__gene' -> kraken:taxid|<taxid>|
            with gzip.open(path, "rb") as handle:
                for line in handle:
                    if line.startswith(b">"):
                        taxid, _, rest = line[1:].partition(b"__")
                        line = b">kraken:taxid|" + taxid + b"|" + rest
                    lib.write(line)
        for i in range(n):
            taxid = _FIRST_SPECIES + i
            label = f"Synthetica genome_{i + 1:04d}"
            seq, gc = synthetic_genome(rng)
            total += len(seq)
            names += _dmp([str(taxid), label, "", "scientific name"])
            nodes += _dmp([str(taxid), str(_CHAIN[-1][0]), "species", "", *tail])
            fasta = genomes / f"synthetic_{i + 1:04d}.fna"
            header = f"synthetic_{i + 1:04d} random sequence, GC {gc:.3f}, seed {seed}\n"
            fasta.write_bytes(b">" + header.encode() + seq + b"\n")
            lib.write(f">kraken:taxid|{taxid}|{header}".encode() + seq + b"\n")
            lineages.append(f"{fasta.name}\t{_GTDB};s__Synthetica genome_{i + 1:04d}")
            windows = len(seq) - READ_LENGTH + 1
            distrib += f"{taxid}\t{taxid}:{windows}:{windows} \n"
    (kdb / "taxonomy" / "names.dmp").write_text(names)
    (kdb / "taxonomy" / "nodes.dmp").write_text(nodes)
    print(f"bench database: 2 demo genomes + {n} synthetic genomes ({total / 1e6:,.0f} Mbp "
          f"synthetic), building under {out}", flush=True)
    _run(["kraken2-build", "--add-to-library", str(library), "--db", str(kdb), "--no-masking"],
         log)
    library.unlink()
    _run(["kraken2-build", "--build", "--db", str(kdb), "--threads", str(threads)], log)
    shutil.rmtree(kdb / "library")  # the sequences are in genomes/ and the demo library
    (kdb / f"database{READ_LENGTH}mers.kmer_distrib").write_text(distrib)
    (tmp / "lineages.tsv").write_text("\n".join(lineages) + "\n")
    citation = ("HUMAnN demo gene centroids (Beghini F et al. 2021 eLife 10:e65088) plus "
                f"{n} synthetic random genomes (bench/shotgun_db.py, seed {seed})")
    _run([soilbiome, "refdb", "add", "bench_kraken2", str(kdb), "--sheet", str(tmp / "refdb.csv"),
          "--marker", "shotgun", "--format", "kraken2", "--licence", "MIT",
          "--version", f"bench-{n}-{seed}", "--citation", citation, "--taxonomy", "NCBI"], log)
    _run([soilbiome, "refdb", "build-sylph",
          *map(str, sorted(DEMO_LIB.glob("*.ffn.gz"))), *map(str, sorted(genomes.glob("*.fna"))),
          "--lineages", str(tmp / "lineages.tsv"), "--out", str(tmp / "sylph"),
          "--name", "bench_sylph", "--sheet", str(tmp / "refdb.csv"), "--licence", "MIT",
          "--version", f"bench-{n}-{seed}", "--citation", citation], log)
    shutil.rmtree(genomes)
    (tmp / ".complete").write_text(f"{n} {seed}\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    # the sheet names the folders by absolute path: rewrite them to the final place
    sheet.write_text(sheet.read_text().replace(str(tmp), str(out)))
    return sheet
