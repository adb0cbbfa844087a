"""The memory a task that loads a reference database asks its scheduler for.

A label's fixed request (``process_low``: 4 GB) is wrong both ways for a database-bound task:
Kraken2 holds its whole hash table in memory (a standard database is 8-70 GB) and sylph holds
the genome sketches of its database (GTDB r220: about 13 GB), so on SLURM a 4 GB request gets
the task killed for memory, and retried twice with 8 and 12 GB before the run fails; a demo
database needs far less. The start-up gate works out what each database's tasks need from the
sizes of the files the tool loads (``soilbiome preflight`` -> ``preflight.json``), and
``conf/base.config`` asks for that, times the attempt, clipped to ``--max_memory``.

What the tools hold, measured here: Kraken2's peak resident memory was 596 MB with a 556 MB
``hash.k2d``; pysylph's resident memory grew by the size of ``database.syldb`` (12.0 MB for a
12.0 MB file) on loading it. sylph's authors give about 15 GB for profiling against GTDB r220
(a 13 GB database); this gives 15 GiB.
"""

from __future__ import annotations

from pathlib import Path

GIB = 1 << 30
#: Beside the loaded database: fastp and the FASTQ check streaming into Kraken2, the Python
#: wrapper, Kraken2's per-thread buffers, sylph's profiling (QC_KRAKEN2 peaked at 1.2 GB with
#: the 556 MB table: 0.65 GB beside it).
HEADROOM = GIB
#: One sample's read sketch in the sylph batch task, and the samples sketched at once
#: (process_low's two cores). A sketch keeps one k-mer in 200 of the reads with its count:
#: SYLPH_PROFILE peaked at 191 MB for two samples of 8 million reads; a soil sample of 30
#: million reads, where nearly every k-mer is distinct, stays within this.
SKETCH = GIB // 2
SKETCHES_AT_ONCE = 2
#: Files each format's tool loads into memory.
LOADED = {
    "kraken2": ("hash.k2d", "opts.k2d", "taxo.k2d"),
    "sylph": ("database.syldb",),
}


def database_memory(fmt: str, folder: str | Path) -> int | None:
    """Bytes of memory a task loading the ``fmt`` database in ``folder`` asks for.

    The loaded files' sizes plus :data:`HEADROOM` (plus :data:`SKETCHES_AT_ONCE` sample
    sketches for sylph), rounded up to a whole GiB. None for a format no task loads whole
    (the amplicon references, a host genome).
    """
    files = LOADED.get(fmt)
    if files is None:
        return None
    loaded = sum((Path(folder) / name).stat().st_size for name in files)
    if fmt == "sylph":
        loaded += SKETCHES_AT_ONCE * SKETCH
    need = loaded + HEADROOM
    return -(-need // GIB) * GIB
