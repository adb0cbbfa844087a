"""The pipeline's sylph profiling: a batch's (or one sample's) reads -> sylph profile TSVs.

Per batch (``soilbiome shotgun sylph-profile --batch``: the database is loaded once, the samples
sketched side by side) or per sample, the reads left after QC and host removal are sketched and
profiled against the sheet's sylph database (:mod:`soilbiome.shotgun.sylph`, as
``sylph profile -u``) and written in sylph's own ``profile`` TSV layout, so the file imports
with ``soilbiome import --profiler sylph`` and reads like a sylph user expects: per genome the
taxonomic abundance, sequence abundance, effective (true) coverage and adjusted ANI. The batch's
table is :mod:`soilbiome.shotgun.sylph_run`'s. Kept apart from it so that profiling imports only
what it uses (no pandas, numba or BIOM writer: 0.7 s of a profiling call's start).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO

from soilbiome.errors import InputError
from soilbiome.io.atomic import atomic_outputs, atomic_write
from soilbiome.shotgun.sylph import SampleProfile

#: Columns sylph ``profile -u`` writes (soilbiome leaves what pysylph does not give as NA).
TSV_COLUMNS = ("Sample_file", "Genome_file", "Taxonomic_abundance", "Sequence_abundance",
               "Adjusted_ANI", "True_cov", "ANI_5-95_percentile", "Eff_lambda",
               "Lambda_5-95_percentile", "Median_cov", "Mean_cov_geq1", "Containment_ind",
               "Naive_ANI", "kmers_reassigned", "Contig_name")

def write_sylph_tsv(profile: SampleProfile, sample_file: str, out: Path,
                    contigs: dict[str, str] | None = None) -> None:
    """Write one sample's profile in sylph's ``profile`` TSV layout (atomically)."""
    with atomic_write(out) as handle:
        _write_rows(handle, profile, sample_file, contigs or {})


def _write_rows(handle: IO[str], profile: SampleProfile, sample_file: str,
                contigs: dict[str, str]) -> None:
    """Rows of one sample. ``Contig_name`` is the genome's first contig header, as sylph
    writes it (from the database's sketch, else :func:`~soilbiome.shotgun.sylph.first_contigs`),
    else the genome's name: never empty, since sylph-tax looks genomes up by it."""
    writer = csv.writer(handle, delimiter="\t", lineterminator="\n")
    writer.writerow(TSV_COLUMNS)
    for hit in profile.hits:
        writer.writerow([
            sample_file, hit.genome, f"{hit.taxonomic_abundance:.4f}",
            f"{hit.sequence_abundance:.4f}", f"{hit.adjusted_ani:.2f}",
            f"{hit.effective_coverage:.3f}", "NA", "NA", "NA", "NA", "NA", "NA",
            f"{hit.naive_ani:.2f}", hit.kmers_reassigned,
            hit.contig or contigs.get(hit.genome) or hit.genome,
        ])


def profile_reads_to_tsv(db: Path, sample: str, reads: Sequence[Path], out: Path) -> SampleProfile:
    """Sketch and profile one sample's reads, write ``<sample>.sylph.tsv``."""
    from soilbiome.shotgun.sylph import first_contigs, load_database, profile_reads

    profile = profile_reads(load_database(db), sample, reads)
    write_sylph_tsv(profile, sample, out, first_contigs(db))
    return profile


def _sample_lines(path: Path, what: str, layout: str, fields_allowed: tuple[int, ...]
                  ) -> Iterator[tuple[str, str, list[str]]]:
    """``(where, sample, other fields)`` of each non-blank line of a per-sample TSV (no
    header; ``layout`` says what a line holds), refusing a line with another number of fields,
    an empty sample ID or one given twice, naming the file and line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read the {what} ({exc})", location=str(path)) from None
    seen: set[str] = set()
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        fields = line.split("\t")
        where = f"{path}:{number}"
        if len(fields) not in fields_allowed:
            raise InputError(f"expected '{layout}', found {len(fields)} field(s)",
                             location=where)
        sample = fields[0].strip()
        if not sample:
            raise InputError("empty sample ID", location=where)
        if sample in seen:
            raise InputError(f"sample '{sample}' given twice", location=where)
        seen.add(sample)
        yield where, sample, fields[1:]


def read_batch_manifest(path: Path) -> list[tuple[str, list[Path]]]:
    """Samples of a batch: one line per sample, ``sample<TAB>R1[<TAB>R2]`` (no header).

    Raises
    ------
    InputError
        Naming the file and line: a wrong number of fields, an empty or repeated sample ID, a
        reads file that does not exist, or no sample at all.
    """
    samples: list[tuple[str, list[Path]]] = []
    for where, sample, names in _sample_lines(path, "batch manifest", "sample<TAB>R1[<TAB>R2]",
                                              (2, 3)):
        files = [Path(f) for f in names]
        for file in files:
            if not file.is_file():
                raise InputError(f"reads file not found: {file}", location=where)
        samples.append((sample, files))
    if not samples:
        raise InputError("no sample in the batch manifest", location=str(path))
    return samples


def read_fastp_commands(path: Path) -> dict[str, str]:
    """fastp's command line per sample: one line per sample, ``sample<TAB>command`` (no
    header; the command's inputs, options and ``--json`` report, not its outputs).

    Raises
    ------
    InputError
        Naming the file and line: not two fields, an empty sample ID or command, a sample
        given twice.
    """
    commands: dict[str, str] = {}
    for where, sample, (command,) in _sample_lines(path, "fastp commands",
                                                    "sample<TAB>fastp command", (2,)):
        if not command.strip():
            raise InputError("empty fastp command", location=where)
        commands[sample] = command.strip()
    return commands


def _sketch_one(sample: str, reads: Sequence[Path], count_bases: bool,
                fastp: str | None) -> tuple[object, object, dict | None]:
    """One sample's sketch, its pass's counts and, with ``fastp`` (its command line), the QC
    record of fastp streamed into the sketcher (:mod:`soilbiome.shotgun.sylph_fastp`)."""
    if fastp is not None:
        from soilbiome.shotgun.sylph_fastp import sketch_through_fastp

        return sketch_through_fastp(sample, reads, fastp)
    from soilbiome.shotgun.sylph import sketch_sample

    return (*sketch_sample(sample, reads, count_bases=count_bases), None)


def _sketch_in_worker(sample: str, reads: Sequence[Path], count_bases: bool,
                      fastp: str | None, path: str) -> tuple[object, dict | None]:
    """A forked worker: sketch one sample (no database, no profiling thread pool) and leave
    the sketch at ``path`` for the parent; returns the pass's counts and QC record."""
    sketch, counts, record = _sketch_one(sample, reads, count_bases, fastp)
    sketch.dump(path)
    return counts, record


def _profile_samples(database: object, samples: Sequence[tuple[str, Sequence[Path]]],
                     qc_records: bool, workers: int, fastp: dict[str, str] | None = None,
                     ) -> list[tuple[SampleProfile, dict | None]]:
    """Every sample's profile, in the batch's order, ``workers`` samples sketched at a time.

    pysylph sketches a sample on one thread (the reads come from Python, under the GIL), so
    samples are sketched side by side in forked processes, as ``sylph profile -t`` sketches its
    read files in parallel. Only the sketching is forked: each sketch comes back through a
    file and is profiled here against the database loaded once, with sylph's thread pool (which
    a forked child could not use once this process has started it). A profile is the one a
    sample-by-sample run gives (samples do not depend on each other); a failing sample stops
    the batch with that sample's error, the first in the batch's order. With ``fastp``
    (sample -> fastp command line), each sample's reads reach the sketcher through fastp, and
    its QC record comes back with its profile (else None)."""
    from soilbiome.shotgun.sylph import profile_sketched

    fastp = fastp or {}
    workers = min(workers, len(samples))
    if workers <= 1:
        done = []
        for sample, reads in samples:
            sketch, counts, record = _sketch_one(sample, reads, qc_records, fastp.get(sample))
            done.append((profile_sketched(database, sketch, sample, counts), record))
        return done
    import multiprocessing
    import os
    import tempfile
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    import pysylph

    from soilbiome.errors import ToolError

    profiles = []
    with (tempfile.TemporaryDirectory(prefix="soilbiome-sylph-") as folder,
          ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")) as pool):
        paths = [os.path.join(folder, f"{i}.sylsp") for i in range(len(samples))]
        futures = [pool.submit(_sketch_in_worker, sample, list(reads), qc_records,
                               fastp.get(sample), path)
                   for (sample, reads), path in zip(samples, paths, strict=True)]
        try:
            for (sample, _), future, path in zip(samples, futures, paths, strict=True):
                counts, record = future.result()
                profiles.append((profile_sketched(database, pysylph.SampleSketch.load(path),
                                                  sample, counts), record))
                os.unlink(path)
        except BrokenProcessPool as exc:  # a worker killed (out of memory, a signal)
            raise ToolError(f"a worker sketching the batch's reads stopped abruptly ({exc}); "
                            "with large samples, give the task more memory or fewer "
                            "--threads") from None
        except BaseException:
            for future in futures:
                future.cancel()
            raise
    return profiles


def profile_batch_to_tsvs(db: Path, samples: Sequence[tuple[str, Sequence[Path]]],
                          outdir: Path, *, qc_records: bool = False, workers: int = 1,
                          fastp: dict[str, str] | None = None) -> list[SampleProfile]:
    """Profile every sample of a batch against ``db`` loaded once; ``<sample>.sylph.tsv`` each.

    The database is read once for the batch (it dominates a small sample's cost); each sample
    is sketched (one checked pass over its reads, mates compared) and profiled, ``workers``
    samples side by side (:func:`_profile_samples`). With ``qc_records`` (reads as sequenced,
    ``--shotgun_qc none``), that pass's counts are also written as each sample's QC record,
    ``<sample>.qc.json`` (:func:`soilbiome.amplicon.qc.unfiltered_record`). With ``fastp``
    (sample -> fastp command line, for every sample), fastp's filtered reads stream into the
    sketcher and each sample's QC record is fastp's and the check's
    (:mod:`soilbiome.shotgun.sylph_fastp`; fastp writes its own reports). The files are
    written together only when every sample succeeded, so a bad sample leaves no partial batch.
    """
    import json

    from soilbiome.amplicon.qc import unfiltered_record
    from soilbiome.shotgun.sylph import first_contigs, load_database

    if fastp is not None:
        missing = [sample for sample, _ in samples if sample not in fastp]
        if missing or qc_records:
            raise InputError("with fastp commands, give one for every sample of the batch "
                             f"and no --qc-records (missing: {', '.join(missing) or 'none'})")
    database = load_database(db)
    contigs = first_contigs(db)
    done = _profile_samples(database, samples, qc_records, workers, fastp)
    with atomic_outputs() as outputs:
        for profile, fastp_record in done:
            tmp = outputs.file(Path(outdir) / f"{profile.sample}.sylph.tsv")
            with tmp.open("w", encoding="utf-8", newline="") as handle:
                _write_rows(handle, profile, profile.sample, contigs)
            if fastp_record is not None:
                tmp = outputs.file(Path(outdir) / f"{profile.sample}.qc.json")
                tmp.write_text(json.dumps(fastp_record, indent=2) + "\n", encoding="utf-8")
            if qc_records:
                counts = profile.reads
                record = unfiltered_record(
                    profile.sample, paired=counts.paired, reads=counts.reads,
                    bases=counts.bases, q30_bases=counts.q30_bases, gc_bases=counts.gc_bases)
                tmp = outputs.file(Path(outdir) / f"{profile.sample}.qc.json")
                tmp.write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    return [profile for profile, _ in done]
