"""The pipeline's start-up gate: every check that can be decided before a task runs.

``soilbiome preflight`` (called once by ``startupGate()`` in ``pipeline/main.nf``) writes
only into a *staging* folder in Nextflow's work directory -- never into ``--outdir`` -- so a
refused run, or one killed during start-up (also under ``-resume``), leaves earlier results
exactly as they were. What it decides, in order:

1. the samplesheet (columns, IDs, read files incl. whitespace in names, MIxS fields) ->
   ``samplesheet.valid.csv``;
2. the reference database (sheet entry, file, SHA-256) -> ``reference_database.json``;
3. the sharing agreement (no ERROR finding on the run date, a usable signing key -- or a
   throwaway key made here for test runs) and that it covers every sample ID of the sheet
   -> ``sharing/agreement.yaml``;
4. the reads, cheaply: each plain FASTQ ends with a complete record; the first reads of
   every file are long enough for the primers and DADA2 truncation lengths.

Every problem names the file, row (line) and column; all problems are listed at once.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from pathlib import Path

from soilbiome.errors import InputError, SoilbiomeError
from soilbiome.io.atomic import atomic_write
from soilbiome.io.fastq import FastqError, iter_records
from soilbiome.io.gunzip import MAGIC
from soilbiome.io.jsonfile import write_json

#: Reads looked at per file to learn the read length (the start of the file only).
SAMPLE_READS = 1000
#: Problems listed in the message (all are in ``problems``).
SHOW = 25
#: Bytes read from the end of a plain FASTQ to check its last record.
TAIL_BYTES = 1 << 16


class PreflightError(InputError):
    """One or more start-up checks failed; ``problems`` lists each of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = list(problems)
        shown = problems[:SHOW] + ([f"... and {len(problems) - SHOW} more"]
                                   if len(problems) > SHOW else [])
        super().__init__(f"{len(problems)} start-up problem(s); nothing was written to the "
                         "results folder:\n  " + "\n  ".join(shown))


@dataclass
class Preflight:
    """What passed the gate: paths inside the staging folder, and figures for the log."""

    staging: Path
    samplesheet: Path
    reference: Path | None = None
    host: Path | None = None
    sylph: Path | None = None
    agreement: Path | None = None
    signing_key: str | None = None
    samples: int = 0
    notes: list[str] = field(default_factory=list)
    #: database format -> bytes of memory its tasks ask for (soilbiome.refdb.memory)
    task_memory: dict[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-ready record (``preflight.json``)."""
        return {
            "staging": str(self.staging),
            "samplesheet": str(self.samplesheet),
            "reference": str(self.reference) if self.reference else None,
            "host": str(self.host) if self.host else None,
            "sylph": str(self.sylph) if self.sylph else None,
            "agreement": str(self.agreement) if self.agreement else None,
            "signing_key": self.signing_key,
            "samples": self.samples,
            "notes": self.notes,
            "task_memory": self.task_memory,
        }


def _message(exc: SoilbiomeError) -> str:
    return str(exc)


def fastq_tail_problem(path: Path) -> str | None:
    """A problem with the last record of a plain (uncompressed) FASTQ, or ``None``.

    Reads only the last :data:`TAIL_BYTES`: the file must end with a complete 4-line record
    (``@`` header, sequence, ``+``, quality of the sequence's length). Gzip files are left to
    the first task's full check (their end cannot be read without the whole stream).
    """
    with path.open("rb") as handle:
        if handle.read(2) == MAGIC:
            return None
        size = handle.seek(0, os.SEEK_END)
        if size == 0:
            return None  # an empty sample is allowed and recorded with 0 reads
        handle.seek(max(0, size - TAIL_BYTES))
        tail = handle.read()
    lines = tail.rstrip(b"\r\n").split(b"\n")
    if len(lines) < 4:
        return "ends inside its first record (truncated?)"
    header, seq, plus, qual = (x.rstrip(b"\r") for x in lines[-4:])
    if not header.startswith(b"@") or not plus.startswith(b"+") or len(seq) != len(qual):
        return ("ends inside a record (truncated?): the last four lines are not a complete "
                "FASTQ record")
    return None


def read_length(path: Path, limit: int = SAMPLE_READS) -> int:
    """Longest read among the first ``limit`` records (0 for an empty file)."""
    longest = 0
    for number, _name, length in iter_records(path):
        longest = max(longest, length)
        if number >= limit:
            break
    return longest


def _keep_if_same(draft: Path, target: Path) -> None:
    """Move ``draft`` onto ``target`` unless it holds the same bytes: an unchanged input keeps
    its timestamp, so ``-resume`` still finds the tasks that read it cached."""
    if target.is_file() and target.read_bytes() == draft.read_bytes():
        draft.unlink()
    else:
        os.replace(draft, target)


def run_preflight(
    input_sheet: str | Path,
    staging: str | Path,
    *,
    refdb_sheet: str | Path | None = None,
    refdb: str | None = None,
    agreement: str | Path | None = None,
    signing_key: str | None = None,
    primer_fwd: str | None = None,
    primer_rev: str | None = None,
    trunc_len_f: int = 0,
    trunc_len_r: int = 0,
    env: str | None = None,
    host_db: str | None = None,
    shotgun_profiler: str | None = None,
    sylph_db: str | None = None,
    today: dt.date | None = None,
    mode: str | None = None,
    its_region: str = "auto",
    phylogeny: bool = True,
) -> Preflight:
    """Run every start-up check, writing only into ``staging``.

    Parameters
    ----------
    input_sheet : path
        The samplesheet.
    staging : path
        Folder for the checked copies (created); in the pipeline, under the work directory.
    refdb_sheet, refdb : optional
        Database sheet and the entry to use.
    agreement, signing_key : optional
        Sharing agreement and the key to stamp with (``"throwaway"``: make one in staging).
    primer_fwd, primer_rev : str, optional
        Primers cut from the reads (their length must be below the read length).
    trunc_len_f, trunc_len_r : int
        DADA2 truncation lengths (0 = none); must not exceed the read length.
    env : str, optional
        Soil variables for ``diversity --env`` (``VAR[,VAR...]``): numeric columns of the sheet.
    host_db : str, optional
        Shotgun host genome: its entry in the database sheet (SHA-256 verified).
    shotgun_profiler, sylph_db : str, optional
        Shotgun profilers (``kraken2``, ``sylph`` or both, comma-separated) and the sylph
        database's name in the sheet (default: ``refdb`` when that is a sylph database).
    today : datetime.date, optional
        Reference date of the agreement checks.
    mode, its_region, phylogeny : optional
        With ``mode``: every executable the run will call (:mod:`soilbiome.run.tools`) must be
        on the tasks' PATH.

    Returns
    -------
    Preflight

    Raises
    ------
    PreflightError
        Listing every problem found.
    """
    from soilbiome.model.samplesheet import load_samplesheet

    staging = Path(staging)
    staging.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    reference_entry: dict = {}  # the database sheet's entry, once found and verified
    try:
        sheet = load_samplesheet(input_sheet)
        if env:
            from soilbiome.errors import SamplesheetError
            from soilbiome.model.soil import check_env_columns
            from soilbiome.soil.context import parse_env

            found = check_env_columns(sheet.metadata_columns, [r.metadata for r in sheet.rows],
                                      parse_env(env))
            if found:
                raise SamplesheetError(str(input_sheet), found)
    except SoilbiomeError as exc:
        raise PreflightError([_message(exc)]) from None
    result = Preflight(staging, staging / "samplesheet.valid.csv", samples=len(sheet.rows))
    draft = staging / ".samplesheet.valid.csv.new"
    sheet.write_normalised(draft)
    _keep_if_same(draft, result.samplesheet)

    if refdb_sheet or refdb:
        if not (refdb_sheet and refdb):
            problems.append("reference database: give both --refdb_sheet and --refdb")
        else:
            from soilbiome.refdb import load_refdb

            try:
                reference_entry = load_refdb(refdb_sheet, refdb).to_dict()
                result.reference = _record(staging, "reference_database.json",
                                           reference_entry)
            except SoilbiomeError as exc:
                problems.append(f"reference database: {_message(exc)}")

    if host_db:
        from soilbiome.refdb import load_refdb

        try:
            host = load_refdb(refdb_sheet, host_db) if refdb_sheet else None
            if host is None:
                problems.append("host genome: --host_db needs --refdb_sheet")
            else:
                result.host = _record(staging, "host_database.json", host.to_dict())
        except SoilbiomeError as exc:
            problems.append(f"host genome: {_message(exc)}")

    profilers: tuple[str, ...] = ("kraken2",)
    if mode == "shotgun" or shotgun_profiler or sylph_db:
        profilers, found = _check_profilers(shotgun_profiler or "kraken2", reference_entry,
                                            refdb_sheet, sylph_db, staging, result)
        problems += found

    if agreement:
        problems += _check_sharing(result, Path(agreement), signing_key,
                                   [r.sample for r in sheet.rows], Path(input_sheet), today)

    problems += _check_reads(sheet, Path(input_sheet), primer_fwd, primer_rev,
                             trunc_len_f, trunc_len_r)
    if mode:
        from soilbiome.run.tools import missing_tools, required_tools

        problems += missing_tools(required_tools(
            mode, reference_format=reference_entry.get("format", ""),
            marker=reference_entry.get("marker", ""),
            primers=bool(primer_fwd or primer_rev), phylogeny=phylogeny, its_region=its_region,
            host=bool(host_db), profilers=profilers))
    if problems:
        raise PreflightError(problems)
    result.task_memory = _task_memory(reference_entry, result.sylph, result.host)
    write_json(staging / "preflight.json", result.to_dict())
    return result


def _check_profilers(choice: str, reference: dict, refdb_sheet: str | Path | None,
                     sylph_db: str | None, staging: Path, result: Preflight
                     ) -> tuple[tuple[str, ...], list[str]]:
    """``--shotgun_profiler`` and the databases it needs: Kraken2 = ``--refdb`` (format
    kraken2), sylph = ``--sylph_db`` or a ``--refdb`` of format sylph (SHA-256 verified)."""
    names = tuple(dict.fromkeys(p.strip() for p in (choice or "kraken2").split(",")))
    bad = [p for p in names if p not in ("kraken2", "sylph")]
    if bad or not names:
        return names, [f"--shotgun_profiler '{choice}': use kraken2, sylph or sylph,kraken2"]
    problems = []
    fmt = reference.get("format", "")
    if "kraken2" in names and fmt and fmt != "kraken2":
        problems.append(f"--refdb {reference.get('name')} has format '{fmt}': the kraken2 "
                        "profiler needs a kraken2 database (give --shotgun_profiler sylph, or "
                        "a kraken2 --refdb and the sylph database as --sylph_db)")
    if "sylph" in names:
        entry = None
        if sylph_db and refdb_sheet:
            from soilbiome.refdb import load_refdb

            try:
                entry = load_refdb(refdb_sheet, sylph_db).to_dict()
            except SoilbiomeError as exc:
                problems.append(f"sylph database: {_message(exc)}")
        elif fmt == "sylph":
            entry = reference
        else:
            problems.append("--shotgun_profiler sylph needs a sylph database: --sylph_db NAME "
                            "(format sylph in --refdb_sheet; build one with 'soilbiome refdb "
                            "build-sylph')")
        if entry is not None and entry.get("format") != "sylph":
            problems.append(f"--sylph_db {entry.get('name')} has format "
                            f"'{entry.get('format')}', expected sylph")
        elif entry is not None:
            result.sylph = _record(staging, "sylph_database.json", entry)
    return names, problems


def _task_memory(reference: dict, *records: Path | None) -> dict[str, int]:
    """Memory the tasks loading the run's Kraken2, sylph and host databases ask for."""
    import json

    from soilbiome.refdb.memory import database_memory

    entries = [reference] + [json.loads(r.read_text()) for r in records if r is not None]
    found = {}
    for entry in entries:
        fmt = entry.get("format", "")
        need = database_memory(fmt, entry["path"]) if entry.get("path") else None
        if need is not None:
            found[fmt] = need
    return found


def _record(staging: Path, name: str, data: dict) -> Path:
    """Write a start-up record into ``staging`` (kept unchanged when it has not changed, so a
    resumed run's tasks stay cached); return its path."""
    path = staging / name
    draft = staging / f".{name}.new"
    write_json(draft, data)
    _keep_if_same(draft, path)
    return path


def _check_sharing(result: Preflight, agreement: Path, key: str | None, sample_ids: list[str],
                   sheet_path: Path, today: dt.date | None) -> list[str]:
    from soilbiome.sharing.agreement import check_coverage, load_agreement
    from soilbiome.sharing.keys import (
        check_signing_keys,
        generate_key,
        key_mode_problem,
        load_private_key,
        public_key_b64,
        rewrite_trusted_keys,
    )
    from soilbiome.sharing.rules_agreement import check_agreement

    problems: list[str] = []
    published = result.staging / "sharing" / "agreement.yaml"
    ag = None  # the published agreement, once it passed its checks
    try:
        if key == "throwaway":
            key_path = result.staging / "throwaway-key" / "signing.key"
            key_path.parent.mkdir(parents=True, exist_ok=True)
            if key_path.is_file():  # a resumed session keeps its key: STAMP stays cached
                public = public_key_b64(load_private_key(key_path).public_key())
            else:
                public = generate_key(key_path).public_key_b64
            day = today or dt.date.today()
            raw = load_agreement(agreement)
            signers = list(raw.get("signing.required_signers") or [])
            draft = published.with_name(".agreement.yaml.new")
            published.parent.mkdir(parents=True, exist_ok=True)
            rewrite_trusted_keys(agreement, draft, [(public, s) for s in signers],
                                 valid_from=(day - dt.timedelta(days=1)).isoformat(),
                                 valid_until=(day + dt.timedelta(days=365)).isoformat())
            _keep_if_same(draft, published)
            key = str(key_path)
        else:
            draft = published.with_name(".agreement.yaml.new")
            with atomic_write(draft, "wb") as handle:
                handle.write(agreement.read_bytes())
            _keep_if_same(draft, published)
        report = check_agreement(published, today=today)
        if report.has_errors:
            errs = [f"{f.rule} {f.where}: {f.reason}" for f in report.findings
                    if f.severity.value == "ERROR"]
            problems.append(f"agreement {agreement} has ERROR findings: " + "; ".join(errs))
        else:
            ag = load_agreement(published)
            try:
                check_coverage(sample_ids, ag, where=f"samplesheet {sheet_path}")
            except SoilbiomeError as exc:
                problems.append(str(exc).replace(str(published), str(agreement))
                                .replace("; not stamping", "; the run would fail at STAMP"))
    except SoilbiomeError as exc:
        problems.append(f"agreement {agreement}: {exc}")
        return problems
    if not key:
        problems.append("--agreement needs a signing key: --signing_key FILE or "
                        "SOILBIOME_SIGNING_KEY")
    elif not Path(key).is_file():
        problems.append(f"signing key not found: {key} (relative paths are resolved against "
                        f"the launch folder {Path.cwd()})")
    elif key_mode_problem(key):  # as ssh does, and as STAMP would, hours later
        problems.append(key_mode_problem(key))
    else:  # tasks run in their own work folders: they get the key's absolute path
        key = str(Path(key).resolve())
        if ag is not None and not problems:  # a key STAMP would refuse (not a key,
            try:                                 # untrusted, revoked, out of its dates)
                check_signing_keys(ag, [(key, load_private_key(key))],
                                   today or dt.date.today(), agreement)
            except SoilbiomeError as exc:
                problems.append(f"{exc}; the run would fail at STAMP")
    result.agreement, result.signing_key = published, key
    return problems


def _check_reads(sheet, sheet_path: Path, primer_fwd: str | None,  # noqa: ANN001
                 primer_rev: str | None, trunc_f: int, trunc_r: int) -> list[str]:
    problems: list[str] = []
    for line, row in enumerate(sheet.rows, start=2):
        where = f"samplesheet {sheet_path}: line {line}, sample '{row.sample}'"
        for column, path, primer, trunc, trunc_param in (
            ("fastq_1", row.fastq_1, primer_fwd, trunc_f, "dada2_trunc_len_f"),
            ("fastq_2", row.fastq_2, primer_rev, trunc_r, "dada2_trunc_len_r"),
        ):
            if path is None:
                continue
            try:
                tail = fastq_tail_problem(path)
                if tail:
                    problems.append(f"{where}, column '{column}': {path} {tail}")
                    continue
                length = read_length(path)
            except FastqError as exc:
                problems.append(f"{where}, column '{column}': {exc}")
                continue
            except OSError as exc:
                problems.append(f"{where}, column '{column}': cannot read {path}: "
                                f"{exc.strerror or exc}")
                continue
            if length == 0:
                continue  # an empty sample goes through and is recorded with 0 reads
            if primer and len(primer) >= length:
                problems.append(f"{where}, column '{column}': primer {primer} "
                                f"({len(primer)} nt) is not shorter than the reads "
                                f"({length} nt in {path.name})")
            effective = length - (len(primer) if primer else 0)
            if trunc and trunc > effective:
                after = f" after removing the {len(primer)} nt primer" if primer else ""
                problems.append(f"{where}, column '{column}': --{trunc_param} {trunc} exceeds "
                                f"the read length{after} ({effective} nt in {path.name}); "
                                "DADA2 would discard every read")
    return problems
