"""fastp's filtered reads streamed into Kraken2 through a named pipe: one pass over the reads.

Before, a sample's reads went through fastp into gzipped files (``FASTQ_QC``) and Kraken2 read
those back in a second task: the reads were compressed once more, written, read and
decompressed again, and Kraken2 could not start before fastp had finished. Here fastp writes
its filtered reads as plain FASTQ into a FIFO (pairs interleaved) and Kraken2 reads them there,
both running at once; the FASTQ check (:func:`soilbiome.io.fastq.check_sample`) reads the same
input files beside them, from the page cache. Kraken2 reading a FIFO is what its own wrapper
does with compressed input (it opens ``gzip -dc`` pipes); the report is the same as from the
two steps (``tests/test_shotgun_streamed.py``).

A pipe has two ends that wait for each other: when one program fails (or never opens its end),
the other would wait for ever. :func:`run_streamed` watches the three and stops the others as
soon as one fails, then raises one error naming the sample and the program, with the last
lines of that program's log. The first failure is the one reported: the FASTQ check's verdict
names the file and record; a program killed because the other end of its pipe went away is a
consequence, not the cause.

Without fastp (``fastp=None``: ``--shotgun_qc none``, reads used as sequenced) Kraken2 reads
the sample's files as ``kraken2`` alone would, and the check beside it also counts the Q30 and
G/C bases for the QC record: the run costs Kraken2's time plus the check's, on the other core.
Compressed files reach Kraken2's classifier through pipes, as the wrapper gives them, but
inflated by :mod:`soilbiome.io.gunzip` instead of ``gzip -dc`` (half the CPU time).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from soilbiome.errors import SoilbiomeError, ToolError
from soilbiome.io.fastq import FastqStats, check_sample
from soilbiome.io.gunzip import is_gzip
from soilbiome.io.jsonfile import write_json

#: Seconds between looks at the running programs.
POLL_SECONDS = 0.05
#: Seconds a stopped program is given before it is killed.
STOP_SECONDS = 10.0


@dataclass(frozen=True)
class StreamedRun:
    """What one streamed sample produced."""

    sample: str
    stats: FastqStats  # the FASTQ check's counts (also written to check_out)

    @property
    def reads(self) -> int:
        """Reads (pairs) checked."""
        return self.stats.reads

    @property
    def paired(self) -> bool:
        """Whether the sample is paired."""
        return self.stats.paired


def log_tail(path: Path, lines: int = 5) -> str:
    """The last lines of a program's log, joined on one line (for a one-line error)."""
    try:
        text = path.read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(text[-lines:])


class CheckThread(threading.Thread):
    """The FASTQ check of a sample's input files (:func:`soilbiome.io.fastq.check_sample`),
    run in a thread beside the programs that stream the same reads.

    Its verdict is kept, never raised in the thread: ``stats`` when the files passed, ``error``
    (naming the file and record) when not. ``on_failure`` is called from the thread as soon as
    the check has failed (to stop a program that would otherwise keep the stream going).
    """

    def __init__(self, sample: str, reads: Sequence[Path], *, count_bases: bool = False,
                 on_failure: Callable[[], None] | None = None) -> None:
        super().__init__(name=f"fastq-check {sample}", daemon=True)
        self.sample = sample
        self.reads = list(reads)
        self.count_bases = count_bases
        self.on_failure = on_failure
        self.stats: FastqStats | None = None
        self.error: SoilbiomeError | None = None

    def run(self) -> None:
        try:
            self.stats = check_sample(self.sample, *self.reads, count_bases=self.count_bases)
        except SoilbiomeError as exc:
            self.error = exc
        except Exception as exc:  # noqa: BLE001 - reported as this sample's failure
            self.error = SoilbiomeError(f"sample '{self.sample}': FASTQ check failed ({exc})")
        if self.error is not None and self.on_failure is not None:
            self.on_failure()


def _stop(procs: Sequence[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    deadline = time.monotonic() + STOP_SECONDS
    for proc in procs:
        try:
            proc.wait(timeout=max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _first_failure(sample: str, checker: CheckThread, procs: dict[str, subprocess.Popen],
                   logs: dict[str, Path]) -> SoilbiomeError | None:
    """The failure to report, if any yet: the check's verdict first (it names the file and
    record), then a program that exited non-zero."""
    if not checker.is_alive() and checker.error is not None:
        return checker.error
    for name, proc in procs.items():
        code = proc.poll()
        if code in (None, 0):
            continue
        if name.startswith(_GUNZIP) and checker.is_alive():
            continue  # a corrupt file: the check reading it beside will name the record
        return ToolError(f"sample '{sample}': {name} failed (exit {code}): {log_tail(logs[name])}")
    return None


@dataclass(frozen=True)
class Kraken2Options:
    """What Kraken2 is asked for (the ``kraken2`` wrapper's options of the same names)."""

    db: Path
    threads: int
    confidence: float
    report: Path
    output: str = "/dev/null"


def classify_binary() -> Path:
    """Kraken2's ``classify`` program, found as the ``kraken2`` wrapper finds it: in the folder
    the wrapper names (``$KRAKEN2_DIR``), else beside the wrapper itself."""
    wrapper = shutil.which("kraken2")
    if wrapper is None:
        raise ToolError("kraken2 not found on PATH")
    text = Path(wrapper).read_text(errors="replace")
    named = re.search(r"^my \$KRAKEN2_DIR = '([^']+)';", text, flags=re.M)
    for folder in ([Path(named.group(1))] if named else []) + [Path(wrapper).resolve().parent]:
        if (folder / "classify").is_file():
            return folder / "classify"
    raise ToolError(f"Kraken2's classify program not found beside {wrapper}")


def classify_command(options: Kraken2Options, sources: Sequence[str], *, paired: bool,
                     interleaved: bool = False) -> list[str]:
    """Kraken2's ``classify`` with the flags the ``kraken2`` wrapper gives it for these options
    (its defaults for the rest), reading ``sources``: one file, or R1 and R2 (``paired``), or
    one file of interleaved mates (``paired`` and ``interleaved``: ``-S``)."""
    db = Path(options.db)
    return [str(classify_binary()), "-H", str(db / "hash.k2d"), "-t", str(db / "taxo.k2d"),
            "-o", str(db / "opts.k2d"), "-p", str(options.threads),
            *(["-P"] if paired else []), *(["-S"] if interleaved else []),
            "-T", str(options.confidence), "-R", str(options.report), "-O", options.output,
            "-Q", "0", "-g", "2", *sources]


def kraken2_command(options: Kraken2Options, stream: Path, *, paired: bool) -> list[str]:
    """Kraken2 reading ``stream``: the wrapper for single reads; for pairs ``classify`` itself,
    with the flags the wrapper gives it plus ``-S`` (mates interleaved in one file), which the
    wrapper does not offer: two FIFOs read in lockstep (``--paired R1 R2``) would wait on each
    other (fastp writes each mate's file from its own thread; seen here: both stopped)."""
    if not paired:
        return ["kraken2", "--db", str(options.db), "--threads", str(options.threads),
                "--confidence", str(options.confidence), "--report", str(options.report),
                "--output", options.output, str(stream)]
    return classify_command(options, [str(stream)], paired=True, interleaved=True)


#: Name prefix of the processes inflating a sample's compressed files for Kraken2.
_GUNZIP = "gunzip"


def _gzipped(path: Path) -> bool:
    """Whether ``path`` starts with gzip's magic number (how Kraken2's wrapper decides)."""
    try:
        return is_gzip(path)
    except OSError:
        return False  # the check names what is wrong with it


def _start_gunzips(reads: Sequence[Path], workdir: Path, procs: dict[str, subprocess.Popen],
                   logs: dict[str, Path]) -> list[int]:
    """One :mod:`soilbiome.io.gunzip` process per file, its output a pipe; their read ends."""
    fds = []
    for number, path in enumerate(reads, start=1):
        name = f"{_GUNZIP} R{number}"
        logs[name] = workdir / f"gunzip_R{number}.log"
        with logs[name].open("wb") as log:
            proc = subprocess.Popen([sys.executable, "-m", "soilbiome.io.gunzip", str(path)],
                                    stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=log)
        procs[name] = proc
        fds.append(proc.stdout.fileno())  # type: ignore[union-attr]
    return fds


def run_streamed(sample: str, reads: Sequence[Path], *, fastp: str | None,
                 kraken2: Kraken2Options, check_out: Path,
                 workdir: Path = Path(".")) -> StreamedRun:
    """Run fastp into Kraken2 through a FIFO, with the FASTQ check of ``reads`` beside them.

    Parameters
    ----------
    sample : str
        Sample ID (messages, the check record).
    reads : sequence of Path
        The sample's FASTQ files (one, or R1 and R2) as given to fastp.
    fastp : str or None
        fastp's command line (inputs and options) without outputs: the filtered reads go to
        the FIFO (``-o`` for single reads, ``--stdout`` for pairs, interleaved). None: no
        fastp, Kraken2 reads ``reads`` as they are and the check counts Q30 and G/C bases.
    kraken2 : Kraken2Options
        Database, threads, confidence, report and per-read output.
    check_out : Path
        JSON file for the check's read counts (written only when everything succeeded).
    workdir : Path
        Folder for the FIFO and the two programs' logs (``fastp.log``, ``kraken2.log``).

    Raises
    ------
    FastqError
        The reads are corrupt, truncated or out of step (the check's own message).
    ToolError
        fastp or Kraken2 failed: which one, its exit status and the end of its log.
    """
    if len(reads) not in (1, 2):
        raise SoilbiomeError(f"sample '{sample}': give one FASTQ file or a pair, not {len(reads)}")
    paired = len(reads) == 2
    workdir = Path(workdir)
    logs = {"fastp": workdir / "fastp.log", "Kraken2": workdir / "kraken2.log"}
    fifo = workdir / f"{sample}.stream.fastq"
    stdout = None
    inflate = False  # compressed reads piped to Kraken2's classifier from soilbiome.io.gunzip
    if fastp is None:  # Kraken2 on the reads as sequenced
        del logs["fastp"]
        inflate = all(_gzipped(Path(r)) for r in reads)
        commands = {} if inflate else {
            "Kraken2": [*kraken2_command(kraken2, Path(reads[0]), paired=False)[:-1],
                        *(["--paired"] if paired else []), *map(str, reads)]}
    else:
        if fifo.exists() or fifo.is_symlink():
            fifo.unlink()
        os.mkfifo(fifo)
        commands = {"fastp": [*shlex.split(fastp),
                              *(["--stdout"] if paired else ["-o", str(fifo)])],
                    "Kraken2": kraken2_command(kraken2, fifo, paired=paired)}
        # fastp's stdout for pairs: the FIFO opened read-write, which does not wait for a
        # reader (a write-only open would block until Kraken2 opens its end); fastp keeps the
        # only copy
        stdout = os.open(fifo, os.O_RDWR) if paired else None

    checker = CheckThread(sample, reads, count_bases=fastp is None)
    procs: dict[str, subprocess.Popen] = {}
    try:
        if inflate:  # the pipes' read ends go to the classifier only (it sees EOF, they EPIPE)
            fds = _start_gunzips([Path(r) for r in reads], workdir, procs, logs)
            command = classify_command(kraken2, [f"/dev/fd/{fd}" for fd in fds], paired=paired)
            with logs["Kraken2"].open("wb") as log:
                kraken = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                          stdout=subprocess.DEVNULL, stderr=log, pass_fds=fds)
            for proc in procs.values():
                proc.stdout.close()  # type: ignore[union-attr]
            procs = {"Kraken2": kraken, **procs}  # its failure first: theirs follow from it
        for name, command in commands.items():
            out = stdout if name == "fastp" and paired else subprocess.DEVNULL
            with logs[name].open("wb") as log:
                try:
                    procs[name] = subprocess.Popen(command, stdin=subprocess.DEVNULL,
                                                   stdout=out, stderr=log)
                except FileNotFoundError:
                    raise ToolError(f"{command[0]} not found (needed by {name})") from None
        if stdout is not None:
            os.close(stdout)
            stdout = None
        checker.start()
        while True:
            failure = _first_failure(sample, checker, procs, logs)
            if failure is not None:
                raise failure
            if not checker.is_alive() and all(p.poll() == 0 for p in procs.values()):
                break
            time.sleep(POLL_SECONDS)
    except BaseException:
        # the check's thread is not waited for: it dies with the process, nothing is written
        _stop(list(procs.values()))
        raise
    finally:
        if stdout is not None:
            os.close(stdout)
        fifo.unlink(missing_ok=True)
    stats = checker.stats
    write_json(check_out, stats.to_dict())  # type: ignore[union-attr]
    return StreamedRun(sample, stats)  # type: ignore[arg-type]
