"""fastp's filtered reads streamed into sylph's sketcher: the QC and the sketch in one pass.

With sylph the only profiler and no host removal, nothing but the sketcher reads fastp's
filtered reads. Written to files (``FASTQ_QC``), they were compressed, written, read back and
inflated again before ``SYLPH_PROFILE`` could start: for a sample of 8 million reads, about
6 CPU-seconds of compressing, 1.5 of inflating and 360 MB in the work folder. Here fastp writes
them as plain FASTQ to a pipe (``--stdout``; pairs interleaved) and the sketcher reads them
there (:func:`soilbiome.shotgun.sylph.sketch_stream`), while the FASTQ check
(:func:`soilbiome.io.fastq.check_sample`) reads the sample's input files beside them, as in
``FASTQ_QC`` and ``QC_KRAKEN2`` (:mod:`soilbiome.shotgun.streamed`). The sketch is the one the
files gave, and the QC record is built from the same check and fastp report
(:func:`soilbiome.amplicon.qc.qc_record`): ``tests/test_sylph_fastp.py``.

The first failure is the one reported: the check's verdict (it names the file and record; fastp
is stopped at once), else fastp's exit status with the end of its log; a stream cut short is a
consequence of either.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Sequence
from pathlib import Path

from soilbiome.errors import FastqError, InputError, ToolError

#: Seconds fastp is given to stop once the check has failed.
STOP_SECONDS = 10.0


def fastp_report(command: str, sample: str) -> Path:
    """The JSON report file a fastp command line writes (``--json``/``-j``)."""
    words = shlex.split(command)
    for flag in ("--json", "-j"):
        if flag in words and words.index(flag) + 1 < len(words):
            return Path(words[words.index(flag) + 1])
    raise InputError(f"sample '{sample}': the fastp command gives no --json report: {command}")


def sketch_through_fastp(sample: str, reads: Sequence[Path], fastp: str,
                         workdir: Path = Path(".")) -> tuple[object, object, dict]:
    """Run ``fastp`` on a sample's reads into sylph's sketcher, the check beside them.

    Parameters
    ----------
    sample : str
        Sample ID (messages, the QC record).
    reads : sequence of Path
        The sample's FASTQ files (one, or R1 and R2), as the fastp command reads them.
    fastp : str
        fastp's command line, inputs, options and ``--json`` report included, without the
        filtered reads' outputs (they go to its standard output).
    workdir : Path
        Folder for fastp's log (``<sample>.fastp.log``).

    Returns
    -------
    tuple
        ``(pysylph.SampleSketch, ReadCounts of the filtered reads, QC record)``.

    Raises
    ------
    FastqError
        The input reads are corrupt, truncated or out of step (the check's own message).
    ToolError
        fastp failed: its exit status and the end of its log.
    """
    from soilbiome.amplicon.qc import qc_record
    from soilbiome.io.fastq_native import Declined
    from soilbiome.shotgun.streamed import CheckThread, log_tail
    from soilbiome.shotgun.sylph import sketch_stream

    if len(reads) not in (1, 2):
        raise InputError(f"sample '{sample}': give one FASTQ file or a pair, not {len(reads)}")
    report = fastp_report(fastp, sample)
    log = Path(workdir) / f"{sample}.fastp.log"
    command = [*shlex.split(fastp), "--stdout"]
    with log.open("wb") as err:
        try:
            proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                    stderr=err)
        except FileNotFoundError:
            raise ToolError(f"{command[0]} not found (needed for sample '{sample}')") from None

    def stop_fastp() -> None:  # the check failed: the sketcher then meets the stream's end
        if proc.poll() is None:
            proc.terminate()

    checker = CheckThread(sample, reads, on_failure=stop_fastp)
    checker.start()
    cut: Exception | None = None
    try:
        sketch, counts = sketch_stream(sample, proc.stdout, paired=len(reads) == 2,
                                       where=f"fastp's filtered reads of sample '{sample}'")
    except (Declined, FastqError, InputError) as exc:
        cut = exc
    except BaseException:
        proc.kill()
        proc.wait()
        raise
    finally:
        proc.stdout.close()  # type: ignore[union-attr]
    try:
        code = proc.wait(timeout=None if cut is None else STOP_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    checker.join()
    if checker.error is not None:
        raise checker.error
    if code != 0:
        raise ToolError(f"sample '{sample}': fastp failed (exit {code}): {log_tail(log)}")
    if cut is not None:
        raise ToolError(f"sample '{sample}': fastp's filtered reads stopped short of a whole "
                        f"record ({cut})")
    try:
        fastp_json = json.loads(report.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ToolError(f"sample '{sample}': fastp wrote no readable report ({exc})",
                        location=str(report)) from None
    record = qc_record(checker.stats.to_dict(), fastp_json,  # type: ignore[union-attr]
                       fastp_path=report)
    return sketch, counts, record
