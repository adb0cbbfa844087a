"""The memory a task that loads a reference database asks its scheduler for.

A label's fixed request (``process_low``: 4 GB) is wrong both ways for a database-bound task:
Kraken2 holds its whole hash table in memory (a standard database is 8-70 GB) and sylph holds
the genome sketches of its database (GTDB r220: about 13 GB), so on SLURM a 4 GB request gets
the task killed for memory, and retried twice with 8 and 12 GB before the run fails; a demo
database needs far less. The start-up gate works out what each database's tasks need from the
sizes of the files the tool loads (``soilbiome preflight`` -> ``preflight.json``; a host
genome's bowtie2 index too, when it sits beside the FASTA), and
``conf/base.config`` asks for that, times the attempt, clipped to ``--max_memory``.

What the tools hold, measured here: Kraken2's peak resident memory was 596 MB with a 556 MB
``hash.k2d``; pysylph's resident memory grew by the size of ``database.syldb`` (12.0 MB for a
12.0 MB file) on loading it. sylph's authors give about 15 GB for profiling against GTDB r220
(a 13 GB database); this gives 16 GiB, fastp included.
"""

from __future__ import annotations

from pathlib import Path

GIB = 1 << 30
#: Beside the loaded database: fastp and the FASTQ check streaming into Kraken2, the Python
#: wrapper, Kraken2's per-thread buffers, sylph's profiling (QC_KRAKEN2 peaked at 1.2 GB with
#: the 556 MB table: 0.65 GB beside it).
HEADROOM = GIB
#: One sample being sketched in the sylph batch task (its sketch and, with the QC in the task,
#: its fastp), and the samples sketched at once (process_low's two cores). A sketch keeps one
#: k-mer in 200 of the reads with its count: SYLPH_PROFILE peaked at 191 MB for two samples of
#: 8 million reads, and at 896 MB with fastp streaming into the sketcher; a soil sample of 30
#: million 150 bp reads, where nearly every k-mer is distinct, samples about 22 million.
SKETCH = GIB
SKETCHES_AT_ONCE = 2
#: Files each format's tool loads into memory.
LOADED = {
    "kraken2": ("hash.k2d", "opts.k2d", "taxo.k2d"),
    "sylph": ("database.syldb",),
}


#: bowtie2's index files beside a host FASTA (``<fasta>.1.bt2`` ... ``<fasta>.rev.2.bt2``, or
#: ``.bt2l`` for a large genome): bowtie2 loads all of them.
BOWTIE2_SUFFIXES = tuple(f".{part}.{ext}" for ext in ("bt2", "bt2l")
                         for part in ("1", "2", "3", "4", "rev.1", "rev.2"))


def _loaded_bytes(fmt: str, path: Path) -> int | None:
    if fmt in LOADED:
        loaded = sum((path / name).stat().st_size for name in LOADED[fmt])
        return loaded + (SKETCHES_AT_ONCE * SKETCH if fmt == "sylph" else 0)
    if fmt == "host_fasta":
        index = [Path(f"{path}{suffix}") for suffix in BOWTIE2_SUFFIXES]
        found = [f for f in index if f.is_file()]
        return sum(f.stat().st_size for f in found) if found else None
    return None


def database_memory(fmt: str, path: str | Path) -> int | None:
    """Bytes of memory a task loading the ``fmt`` database at ``path`` asks for.

    The loaded files' sizes plus :data:`HEADROOM` (plus :data:`SKETCHES_AT_ONCE` sample
    sketches for sylph), rounded up to a whole GiB. For a host genome (``host_fasta``), its
    bowtie2 index beside the FASTA; None when the run builds the index (its size is not
    known at start-up: the task keeps its label's request). None for the amplicon
    references, which no task loads whole.
    """
    loaded = _loaded_bytes(fmt, Path(path))
    if loaded is None:
        return None
    need = loaded + HEADROOM
    return -(-need // GIB) * GIB
