"""sylph (Shaw & Yu 2024) through PyPI ``pysylph``: the one module that touches its API.

sylph profiles a metagenome against a database of genome sketches by *containment ANI*: each
genome's FracMinHash k-mers (k = 31, one k-mer in ``c`` = 200 kept) are looked up in a sketch of
the sample's reads, coverage is estimated from the k-mer multiplicities (a zero-inflated Poisson
correction makes it work down to ~0.1x), and genomes whose adjusted ANI passes the threshold are
reported with their taxonomic abundance (coverage-normalised, as MetaPhlAn) and sequence
abundance (share of the sample's bases, as Kraken2 counts reads). With ``estimate_unknown`` the
sequence abundances are scaled to the share of the sample's k-mers the database explains, so
their sum is the share of reads profiled and the rest is what the database does not hold.

Shaw J, Yu YW (2024) Rapid species-level metagenome profiling and containment estimation with
sylph. Nat Biotechnol, doi:10.1038/s41587-024-02412-y. pysylph: Larralde M,
https://github.com/althonos/pysylph (MIT).

pysylph's API is marked experimental: its version is pinned in ``pyproject.toml`` and every call
goes through this module, so a new release changes one file.

A soilbiome sylph database is a folder holding :data:`DB_FILE` (the genome sketches, sylph's
own ``.syldb`` format, readable by the ``sylph`` binary too) and :data:`LINEAGE_FILE` (genome
-> lineage, see :mod:`soilbiome.io.genome_lineages`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import BinaryIO

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_outputs
from soilbiome.io.fasta import fasta_sequences
from soilbiome.io.fastq import BaseCounts, MatePairs, iter_checked_blocks

#: pysylph release the wrapper is written against (also pinned in pyproject.toml).
PYSYLPH_VERSION = "0.1.3"
#: Files of a soilbiome sylph database folder.
DB_FILE = "database.syldb"
LINEAGE_FILE = "lineages.tsv"
#: Column of LINEAGE_FILE with each genome's first contig header (sylph's ``Contig_name``).
CONTIG_COLUMN = "first_contig"
SYLPH_FILES = (DB_FILE, LINEAGE_FILE)
#: sylph's defaults (``sylph sketch -c 200``, k = 31) and ``profile``'s minimum ANI (95 %).
SUBSAMPLING = 200
KMER = 31
MIN_ANI = 95.0
#: Sampled k-mers a genome needs to be reported (``sylph profile --min-number-kmers``, 50 by
#: default, as in pysylph): at one k-mer in 200, a genome under about 10 kb never is.
MIN_KMERS = 50


def version() -> str:
    """``pysylph <version>`` (the sylph code linked into it)."""
    import pysylph

    return f"pysylph {pysylph.__version__}"


@dataclass(frozen=True)
class ReadCounts:
    """What the sketcher's one checked pass over a sample's reads counted (pairs once).

    ``accuracy`` is the mean per-base accuracy the reads' qualities state (1 - mean error
    probability), None for a sample without bases. ``q30_bases`` (bases of Phred >= 30) and
    ``gc_bases`` are counted only when asked for (the record of reads profiled without QC).
    """

    reads: int
    paired: bool
    bases: int
    accuracy: float | None
    q30_bases: int | None = None
    gc_bases: int | None = None


@dataclass(frozen=True)
class GenomeHit:
    """One genome sylph found in a sample (percentages as sylph prints them)."""

    genome: str
    contig: str
    taxonomic_abundance: float
    sequence_abundance: float
    adjusted_ani: float
    naive_ani: float
    effective_coverage: float
    kmers_reassigned: int


@dataclass(frozen=True)
class SampleProfile:
    """sylph's answer for one sample."""

    sample: str
    hits: tuple[GenomeHit, ...]
    #: what the pass over the reads counted (:func:`profile_reads`), None when profiled from
    #: a sketch alone
    reads: ReadCounts | None = None

    @property
    def explained(self) -> float:
        """Share of the sample's reads the database explains (0-1)."""
        return min(1.0, sum(h.sequence_abundance for h in self.hits) / 100.0)


# -- database --------------------------------------------------------------------------------

def sketch_genomes(genomes: Sequence[Path], lineages: dict[str, str],
                   out: Path) -> dict[str, int]:
    """Sketch genome/MAG FASTA files into a sylph database folder ``out`` (written atomically).

    Parameters
    ----------
    genomes : sequence of Path
        One (gzipped) FASTA per genome; the genome's name is its file name, as the ``sylph``
        binary names it.
    lineages : dict
        ``genome name -> lineage string`` for every genome (checked by the caller).
    out : Path
        Database folder to create (must not exist).

    Returns
    -------
    dict
        ``genome name -> sampled k-mers``, in order (a genome with fewer than
        :data:`MIN_KMERS` is kept but can never be reported).
    """
    import pysylph

    sketcher = pysylph.Sketcher(c=SUBSAMPLING, k=KMER)
    sketches = []
    first_contig: dict[str, str] = {}
    for path in genomes:
        headers: list[str] = []
        contigs = fasta_sequences(path, headers)
        first_contig[Path(path).name] = headers[0] if headers else ""
        try:
            sketches.append(sketcher.sketch_genome(Path(path).name, contigs))
        except (ValueError, RuntimeError) as exc:
            raise InputError(f"sylph could not sketch the genome ({exc})",
                             location=str(path)) from None
    with atomic_outputs() as outputs:  # a hidden folder beside out, renamed when complete
        tmp = outputs.folder(out)
        pysylph.Database(sketches).dump(str(tmp / DB_FILE))
        with (tmp / LINEAGE_FILE).open("w", encoding="utf-8", newline="") as handle:
            # the first contig's header is what the sylph binary reports as Contig_name
            # (sylph-tax reads it); pysylph's sketches do not keep it, so it is kept here
            handle.write(f"genome\tlineage\t{CONTIG_COLUMN}\n")
            for sketch in sketches:
                contig = " ".join(first_contig[sketch.name].split())  # no tab in a TSV cell
                handle.write(f"{sketch.name}\t{lineages[sketch.name]}\t{contig}\n")
    return {s.name: len(s.kmers) for s in sketches}


def first_contigs(folder: str | Path) -> dict[str, str]:
    """``genome -> its first contig's header`` from a database folder's lineage file (the
    column ``build-sylph`` writes); empty for a bare ``.syldb`` or a file without it."""
    path = Path(folder) / LINEAGE_FILE
    if not path.is_file():
        return {}
    out: dict[str, str] = {}
    with path.open(encoding="utf-8", newline="") as handle:
        header = handle.readline().rstrip("\r\n").split("\t")
        if CONTIG_COLUMN not in header:
            return {}
        column = header.index(CONTIG_COLUMN)
        for line in handle:
            fields = line.rstrip("\r\n").split("\t")
            if len(fields) > column and fields[column]:
                out[fields[0]] = fields[column]
    return out


def load_database(folder: str | Path):  # noqa: ANN201 - pysylph.Database
    """Load the genome sketches of a sylph database folder (or a bare ``.syldb`` file)."""
    import pysylph

    folder = Path(folder)
    path = folder / DB_FILE if folder.is_dir() else folder
    try:
        return pysylph.Database.load(str(path))
    except (OSError, ValueError, RuntimeError) as exc:
        raise InputError(f"not a sylph database ({exc})", location=str(path)) from None


def genome_names(database: object) -> list[str]:
    """Names of the genomes in a loaded database."""
    return [g.name for g in database]  # type: ignore[attr-defined]


# -- samples ---------------------------------------------------------------------------------

@cache
def _error_probabilities():  # noqa: ANN202 - numpy array
    """The error probability each quality letter states (Phred, offset 33; below 33 as Q0)."""
    import numpy as np

    return 10.0 ** (-np.maximum(np.arange(256, dtype=np.float64) - 33, 0) / 10.0)


class _ReadStream:
    """Sequences of a FASTQ file for the sketcher, in one checked pass, adding up the
    per-base error probabilities their Phred qualities state (for the read accuracy); with
    ``pairs``, the read names go to the mates' check."""

    def __init__(self, path: Path, pairs: MatePairs | None = None, side: int = 0,
                 count_bases: bool = False, stream: BinaryIO | None = None) -> None:
        self.path, self.pairs, self.side, self.stream = path, pairs, side, stream
        self.counts = BaseCounts() if count_bases else None
        self.reads = self.bases = 0
        self.errors = 0.0

    def __iter__(self):  # noqa: ANN204 - generator of bytes
        import numpy as np

        table = _error_probabilities()
        for headers, seqs, quals, _lengths in iter_checked_blocks(self.path, stream=self.stream):
            if self.pairs is not None:
                self.pairs.add(self.side, headers)
            joined = np.frombuffer(b"".join(quals), dtype=np.uint8)
            self.reads += len(seqs)
            self.bases += joined.size
            # quality letters counted, then weighted: half the time of summing table[joined]
            histogram = np.bincount(joined, minlength=256)
            self.errors += float(histogram @ table)
            if self.counts is not None:
                self.counts.add(seqs, joined)
            yield from seqs
        if self.pairs is not None:
            self.pairs.end(self.side)


class _ScannedReadStream:
    """:class:`_ReadStream` with the records scanned in C (:mod:`soilbiome.io.fastq_native`):
    the same sequences and counts; the scan raises ``Declined`` at anything wrong, and
    :func:`sketch_reads` then lets the Python check name it."""

    def __init__(self, path: Path, lib: object, mates: object | None = None, side: int = 0,
                 count_bases: bool = False, stream: BinaryIO | None = None) -> None:
        from soilbiome.io.fastq_native import FileScan

        self.scan = FileScan(path, lib, count_bases=count_bases, hashes=mates is not None,
                             qualities=True, stream=stream)
        self.mates, self.side, self.count_bases = mates, side, count_bases
        self.errors = 0.0

    def __iter__(self):  # noqa: ANN204 - generator of bytes
        table = _error_probabilities()
        letters = self.scan.quality_letters
        before = letters.copy()
        for text, hashes in self.scan.blocks():
            if self.mates is not None:
                self.mates.add(self.side, hashes)
            # added up block by block, as _ReadStream does: the same blocks, the same sum
            self.errors += float((letters - before) @ table)
            before[:] = letters
            seqs = text.split(b"\n")[1::4]
            if b"\r" in text:
                seqs = [seq.rstrip(b"\r") for seq in seqs]
            yield from seqs
        if self.mates is not None:
            self.mates.end(self.side)

    @property
    def reads(self) -> int:
        return self.scan.reads

    @property
    def bases(self) -> int:
        return self.scan.bases

    @property
    def counts(self) -> BaseCounts | None:
        if not self.count_bases:
            return None
        counts = BaseCounts()
        counts.q30, counts.gc = self.scan.q30, self.scan.gc
        return counts


def _sketch_streams(sketcher: object, sample: str, streams: list) -> object:  # noqa: ANN401
    """One sample's sketch from its read streams (one, or R1 and R2), every record read."""
    readers = [iter(s) for s in streams]
    if len(readers) == 1:
        sketch = sketcher.sketch_single(sample, readers[0])
    else:
        sketch = sketcher.sketch_paired(sample, readers[0], readers[1])
    for reader in readers:  # what the sketcher left unread (a longer mate file) is checked too
        for _ in reader:
            pass
    return sketch


class _Deinterleaved:
    """The two mates of interleaved reads (R1, R2, R1, ...) as two sequence iterators, each
    taking its side's next read whichever side asks first (pysylph asks in turn)."""

    def __init__(self, seqs: Iterable[bytes], where: str) -> None:
        from collections import deque

        self.seqs, self.where = iter(seqs), where
        self.queues = (deque(), deque())

    def side(self, number: int) -> Iterator[bytes]:
        queue = self.queues[number]
        while True:
            if not queue:
                first = next(self.seqs, None)
                if first is None:
                    return
                second = next(self.seqs, None)
                if second is None:
                    raise InputError("interleaved reads end with a mate alone", location=self.where)
                self.queues[0].append(first)
                self.queues[1].append(second)
            yield queue.popleft()


def sketch_stream(sample: str, stream: BinaryIO, *, paired: bool, where: str):  # noqa: ANN201
    """Sketch reads arriving as plain FASTQ text on ``stream`` (fastp's filtered reads, pairs
    interleaved): the sketch and counts :func:`sketch_reads` gives for the same reads in files.

    Records are read as :func:`sketch_reads` reads them (scanned in C, else checked in
    Python); ``where`` names the stream in messages. The read accuracy comes from these reads'
    qualities, as from fastp's files.

    Raises
    ------
    fastq_native.Declined or FastqError
        The text is not whole FASTQ records (the writer stopped midway: the caller asks it).
    """
    import pysylph

    from soilbiome.io import fastq_native

    sketcher = pysylph.Sketcher(c=SUBSAMPLING, k=KMER)
    lib = fastq_native.library()
    reader = (_ScannedReadStream(Path(where), lib, stream=stream) if lib is not None
              else _ReadStream(Path(where), stream=stream))
    if paired:
        mates = _Deinterleaved(reader, where)
        sketch = _sketch_streams(sketcher, sample, [mates.side(0), mates.side(1)])
    else:
        sketch = _sketch_streams(sketcher, sample, [reader])
    counts = ReadCounts(
        reads=reader.reads // 2 if paired else reader.reads, paired=paired, bases=reader.bases,
        accuracy=1.0 - reader.errors / reader.bases if reader.bases else None)
    return sketch, counts


def sketch_reads(sample: str, r1: Path, r2: Path | None = None, *,  # noqa: ANN201
                 count_bases: bool = False):
    """Sketch one sample's reads (paired when ``r2`` is given), streaming the FASTQ files.

    One pass: every record is checked and, for pairs, the mates' read names are compared
    record by record, so the raw reads of a sample can be profiled without a separate check.
    The records are scanned in C (:mod:`soilbiome.io.fastq_native`); where the scanner is not
    built, or stops at a problem, the Python check (:func:`soilbiome.io.fastq.check_sample`,
    :class:`soilbiome.io.fastq.MatePairs`) reads them and names it.

    Returns
    -------
    tuple
        ``(pysylph.SampleSketch, ReadCounts)``.

    Raises
    ------
    FastqError
        A bad record, a corrupt file, or mates out of step (naming file and record).
    """
    import pysylph

    from soilbiome.io import fastq_native
    from soilbiome.io.fastq import check_sample

    sketcher = pysylph.Sketcher(c=SUBSAMPLING, k=KMER)
    files = [Path(r1)] if r2 is None else [Path(r1), Path(r2)]
    lib = fastq_native.library()
    streams: list = []
    if lib is not None:  # records scanned in C
        mates = fastq_native.MateHashes() if r2 is not None else None
        streams = [_ScannedReadStream(path, lib, mates, side, count_bases)
                   for side, path in enumerate(files)]
        try:
            sketch = _sketch_streams(sketcher, sample, streams)
        except fastq_native.Declined:
            check_sample(sample, *files)  # names the problem (raises FastqError)
            streams = []  # the scan declined a file the Python check accepts: read it so
    if not streams:
        pairs = MatePairs(sample, r1, r2) if r2 is not None else None
        streams = [_ReadStream(path, pairs, side, count_bases)
                   for side, path in enumerate(files)]
        sketch = _sketch_streams(sketcher, sample, streams)
    bases = sum(s.bases for s in streams)
    counts = ReadCounts(
        reads=streams[0].reads, paired=r2 is not None, bases=bases,
        accuracy=1.0 - sum(s.errors for s in streams) / bases if bases else None,
        q30_bases=sum(s.counts.q30 for s in streams) if count_bases else None,
        gc_bases=sum(s.counts.gc for s in streams) if count_bases else None)
    return sketch, counts


def profile_sample(database: object, sketch: object, sample: str, *,
                   read_accuracy: float | None = None,
                   min_ani: float = MIN_ANI) -> SampleProfile:
    """Profile a sketched sample against a loaded database (sylph ``profile -u``).

    ``read_accuracy`` (per base, from the reads' qualities) is sylph's ``--read-seq-id``: the
    share of k-mers that survive sequencing errors, which turns k-mer coverage into base
    coverage for the unexplained share. Without it sylph estimates it from the k-mer counts,
    and at low depth (median k-mer count below 3, typical of soil) falls back to 99.5 %, which
    overstates the share explained when the reads are less accurate than that. A hit's
    ``contig`` is the database sketch's description (the first contig's header in databases
    the sylph binary built; empty in pysylph's, whose writer looks it up instead:
    :func:`soilbiome.shotgun.sylph_profile._write_rows`).
    """
    import pysylph

    seq_id = None
    if read_accuracy is not None and 0.9 <= read_accuracy < 1.0:
        seq_id = read_accuracy
    profiler = pysylph.Profiler(database, minimum_ani=min_ani, estimate_unknown=True,
                                seq_id=seq_id, min_number_kmers=MIN_KMERS)
    results = profiler.profile(sketch)
    hits = tuple(
        GenomeHit(
            genome=r.genome_sketch.name,
            contig=r.genome_sketch.description,
            taxonomic_abundance=float(r.taxonomic_abundance),
            sequence_abundance=float(r.sequence_abundance),
            adjusted_ani=float(r.ani),
            naive_ani=float(r.ani_naive),
            effective_coverage=float(r.coverage),
            kmers_reassigned=int(r.kmers_reassigned),
        )
        for r in results
    )
    return SampleProfile(sample, hits)


def profile_reads(database: object, sample: str, reads: Iterable[Path], *,
                  min_ani: float = MIN_ANI, count_bases: bool = False) -> SampleProfile:
    """Sketch ``reads`` (one file, or R1 and R2) and profile them; the profile carries what
    the pass counted (``count_bases``: Q30 and GC bases too, for a QC record)."""
    sketch, counts = sketch_sample(sample, reads, count_bases=count_bases)
    return profile_sketched(database, sketch, sample, counts, min_ani=min_ani)


def sketch_sample(sample: str, reads: Iterable[Path], *,  # noqa: ANN201
                  count_bases: bool = False):
    """:func:`sketch_reads` of a sample's files as listed: one FASTQ file, or R1 and R2."""
    files = list(reads)
    if not 1 <= len(files) <= 2:
        raise InputError(f"sample '{sample}': give one FASTQ file or a pair, not {len(files)}")
    return sketch_reads(sample, files[0], files[1] if len(files) == 2 else None,
                        count_bases=count_bases)


def profile_sketched(database: object, sketch: object, sample: str, counts: ReadCounts, *,
                     min_ani: float = MIN_ANI) -> SampleProfile:
    """Profile a sample sketched by :func:`sketch_reads`, with what its pass counted."""
    from dataclasses import replace

    profile = profile_sample(database, sketch, sample, read_accuracy=counts.accuracy,
                             min_ani=min_ani)
    return replace(profile, reads=counts)
