"""Workflow Run RO-Crate of a pipeline run (Provenance Run Crate profile 0.5).

Written into the results folder at the end of every run as ``ro-crate-metadata.json``, it
says what the run read, with which parameters and tools, which tasks ran, and what it wrote:

* the workflow (``workflow/main.nf``, a copy, with the parameter schema) as the crate's
  ``mainEntity`` (``ComputationalWorkflow``), one ``FormalParameter`` per parameter and one
  ``HowToStep`` per process, each naming the tools (``SoftwareApplication`` with version)
  from ``software_versions.yml``;
* one ``CreateAction`` for the run: ``identifier`` = Nextflow's run name (the ``run_id`` in
  the licence stamp, rule D9), ``object`` = the inputs (reads, samplesheet, database sheet,
  reference file, agreement; each ``File`` with ``sha256`` and ``contentSize``) and the
  parameter values (``PropertyValue``), ``result`` = every output file, again with
  ``sha256`` and ``contentSize`` (rule D7);
* one ``CreateAction`` per task from Nextflow's trace, wrapped in a ``ControlAction`` that
  points at the process step, all under the engine's ``OrganizeAction``;
* the root ``license``: the sharing agreement's SPDX licence (rule D7).

Profiles: https://w3id.org/ro/wfrun/provenance/0.5 (Leo et al. 2024, "Recording provenance of
workflow runs with RO-Crate", PLOS ONE 19:e0309210). The crate is checked by loading it with
the ``rocrate`` package before it is moved into place.
"""

from __future__ import annotations

import csv
import datetime as dt
import mimetypes
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from soilbiome import __version__
from soilbiome.errors import InputError
from soilbiome.io.hashing import sha256_file
from soilbiome.io.jsonfile import dumps, write_json

METADATA = "ro-crate-metadata.json"
PROFILES = {
    "process": "https://w3id.org/ro/wfrun/process/0.5",
    "workflow": "https://w3id.org/ro/wfrun/workflow/0.5",
    "provenance": "https://w3id.org/ro/wfrun/provenance/0.5",
    "wfcrate": "https://w3id.org/workflowhub/workflow-ro-crate/1.0",
}
CONTEXT = ["https://w3id.org/ro/crate/1.1/context",
           "https://w3id.org/ro/terms/workflow-run/context"]
#: Files of the results folder that are not outputs of the run (Nextflow writes its own
#: reports after the crate; the crate does not describe itself; the run's lock,
#: soilbiome.run.outdir, is removed once the crate is written).
SKIP_PREFIXES = ("pipeline_info/execution_", METADATA, "ro-crate-preview.html",
                 "pipeline_info/run.lock")
_PARAM_TYPES = {"integer": "Integer", "number": "Float", "boolean": "Boolean",
                "string": "Text"}


def _file_entity(path: Path, eid: str, digest: str | None = None, **extra: Any
                 ) -> dict[str, Any]:
    kind = mimetypes.guess_type(path.name)[0]
    entity = {"@id": eid, "@type": "File", "name": path.name,
              "contentSize": str(path.stat().st_size),
              "sha256": digest if digest is not None else sha256_file(path)}
    if kind:
        entity["encodingFormat"] = kind
    entity.update(extra)
    return entity


def _ref(eid: str) -> dict[str, str]:
    return {"@id": eid}


#: Columns every Nextflow trace file has (``trace.fields`` may add more).
TRACE_COLUMNS = ("task_id", "hash", "name", "status")


def read_trace(path: Path | None) -> list[dict[str, str]]:
    """Task rows of a Nextflow trace file (tab-separated with a header); [] if absent.

    Raises
    ------
    InputError
        Not UTF-8 text, or no header naming the trace's columns (another file given).
    """
    if path is None or not Path(path).is_file():
        return []
    try:
        with Path(path).open(newline="", encoding="utf-8") as handle:
            reader = csv.DictReader(handle, delimiter="\t")
            missing = [c for c in TRACE_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InputError(f"not a Nextflow trace file: no {', '.join(missing)} "
                                 "column(s) in its header", location=str(path))
            return list(reader)
    except UnicodeDecodeError as exc:
        raise InputError(f"not a Nextflow trace file: not UTF-8 text (byte {exc.start})",
                         location=str(path)) from None


def _iso(text: str | None) -> str | None:
    """Nextflow trace times (``2026-11-21 12:00:00.123``) as ISO 8601."""
    if not text or text == "-":
        return None
    try:
        return dt.datetime.fromisoformat(text.strip()).isoformat()
    except ValueError:
        return None


def _inputs(sheet: Path | None, refdb: Mapping[str, Any] | None,
            refdb_sheet: Path | None, agreement: Path | None) -> list[dict[str, Any]]:
    """File entities of the run's inputs, by absolute ``file://`` URI."""
    files: list[tuple[Path, str]] = []
    if sheet is not None:
        files.append((sheet, "samplesheet"))
        with sheet.open(newline="", encoding="utf-8-sig") as handle:
            for row in csv.DictReader(handle):
                for col in ("fastq_1", "fastq_2"):
                    value = (row.get(col) or "").strip()
                    if value:
                        read = Path(value)
                        read = read if read.is_absolute() else (sheet.parent / read)
                        files.append((read.resolve(), f"reads of sample {row.get('sample')}"))
    if refdb_sheet is not None:
        files.append((refdb_sheet, "reference database sheet"))
    out, seen = [], set()
    if refdb and refdb.get("path"):
        ref = Path(str(refdb["path"])).resolve()
        what = f"reference database {refdb.get('name')} {refdb.get('version')}"
        if ref.is_dir():
            # a database folder (Kraken2): one Dataset with the digest the database sheet
            # defines and the start-up check verified, instead of re-hashing gigabytes
            seen.add(str(ref))
            out.append({"@id": ref.as_uri() + "/", "@type": "Dataset", "name": ref.name,
                        "description": f"{what} (folder; sha256 as the database sheet "
                                       "defines it, verified at start-up)",
                        "sha256": str(refdb.get("sha256", ""))})
        else:
            files.append((ref, what))
    if agreement is not None:
        files.append((agreement, "sharing agreement"))
    unique = []
    for path, what in files:
        path = Path(path).resolve()
        if str(path) in seen:
            continue
        seen.add(str(path))
        if not path.is_file():
            raise InputError(f"input of the run not found ({what})", location=str(path))
        unique.append((path, what))
    # the reads are the run's largest inputs (hundreds of GB for a batch) and the same from
    # run to run: their digests are remembered per file identity (soilbiome.io.digest_cache),
    # so a rerun or -resume does not read them all again on the Nextflow node
    from soilbiome.io.digest_cache import remembered_digests

    digests = remembered_digests([path for path, _ in unique])
    for (path, what), digest in zip(unique, digests, strict=True):
        out.append(_file_entity(path, path.as_uri(), digest, description=what))
    return out


def build_crate(
    outdir: str | Path,
    *,
    workflow: str | Path,
    params: Mapping[str, Any],
    schema: Mapping[str, Any] | None = None,
    run_name: str,
    session_id: str = "",
    start: str | None = None,
    end: str | None = None,
    success: bool = True,
    nextflow_version: str = "",
    samplesheet: str | Path | None = None,
    refdb: Mapping[str, Any] | None = None,
    refdb_sheet: str | Path | None = None,
    agreement: str | Path | None = None,
    licence: str | None = None,
    versions: str | Path | None = None,
    trace: str | Path | None = None,
) -> Path:
    """Write ``ro-crate-metadata.json`` describing a finished run into ``outdir``.

    Parameters
    ----------
    outdir : str or Path
        The run's results folder (becomes the crate root).
    workflow : str or Path
        ``pipeline/main.nf``; copied to ``workflow/main.nf`` in the crate.
    params : mapping
        The run's checked parameters (``pipeline_info/params.json``).
    schema : mapping, optional
        ``nextflow_schema.json`` (parameter types and descriptions).
    run_name, session_id : str
        Nextflow's run name (the stamp's ``run_id``) and session UUID.
    start, end : str, optional
        ISO 8601 times of the run.
    success : bool
        Whether the run succeeded.
    nextflow_version : str
    samplesheet, refdb_sheet, agreement : path, optional
        Inputs, recorded with sha256 (the reads named in the samplesheet too).
    refdb : mapping, optional
        The reference database record (``reference_database.json``).
    licence : str, optional
        SPDX licence of the outputs (the agreement's); the crate root's ``license``.
    versions : path, optional
        ``software_versions.yml`` (tools per process).
    trace : path, optional
        Nextflow's execution trace (one task per row).

    Returns
    -------
    Path
        The metadata file written.
    """
    from rocrate.rocrate import ROCrate

    outdir = Path(outdir).resolve()
    if not outdir.is_dir():
        raise InputError("results folder not found", location=str(outdir))
    # every input read (and refused) before anything is written into the results folder
    tool_versions = _versions(versions)
    trace_rows = read_trace(Path(trace) if trace else None)
    sheet = Path(samplesheet).resolve() if samplesheet else None
    inputs = _inputs(sheet, refdb, Path(refdb_sheet).resolve() if refdb_sheet else None,
                     Path(agreement).resolve() if agreement else None)
    wf_dir = outdir / "workflow"
    wf_dir.mkdir(exist_ok=True)
    shutil.copyfile(workflow, wf_dir / "main.nf")
    schema_file = Path(workflow).parent / "nextflow_schema.json"
    if schema_file.is_file():
        shutil.copyfile(schema_file, wf_dir / "nextflow_schema.json")

    graph: list[dict[str, Any]] = []
    engine = {"@id": "#nextflow", "@type": "SoftwareApplication", "name": "Nextflow",
              "url": "https://www.nextflow.io/", "softwareVersion": nextflow_version}
    language = {"@id": "https://w3id.org/workflowhub/workflow-ro-crate#nextflow",
                "@type": "ComputerLanguage", "name": "Nextflow",
                "identifier": {"@id": "https://www.nextflow.io/"},
                "url": {"@id": "https://www.nextflow.io/"}, "version": nextflow_version}
    graph += [engine, language]

    tools: dict[str, dict[str, Any]] = {}
    for tool, version in sorted(tool_versions.get("tools", {}).items()):
        tools[tool] = {"@id": f"#tool-{tool}", "@type": "SoftwareApplication", "name": tool,
                       "softwareVersion": str(version)}
    graph += list(tools.values())

    processes = sorted({r.get("process", "").split(":")[-1] for r in trace_rows} - {""}
                       | set(tool_versions.get("processes", {})))
    steps = []
    for position, process in enumerate(processes):
        used = tool_versions.get("processes", {}).get(process, {})
        step = {"@id": f"#step-{process}", "@type": "HowToStep", "name": process,
                "position": str(position)}
        if used:
            step["workExample"] = [_ref(f"#tool-{t}") for t in sorted(used) if t in tools]
        steps.append(step)
    graph += steps

    props = dict((schema and _schema_properties(schema)) or {})
    formal, values = [], []
    for name, value in params.items():
        prop = props.get(name, {})
        kind = prop.get("type", "string")
        kind = kind[0] if isinstance(kind, list) else kind
        formal.append({"@id": f"#param-{name}", "@type": "FormalParameter", "name": name,
                       "additionalType": _PARAM_TYPES.get(kind, "Text"),
                       "description": prop.get("description", ""),
                       "conformsTo": _ref("https://bioschemas.org/profiles/FormalParameter/"
                                          "1.0-RELEASE"),
                       "valueRequired": False})
        values.append({"@id": f"#pv-{name}", "@type": "PropertyValue", "name": name,
                       "value": "" if value is None else dumps(value, indent=None)
                       if not isinstance(value, str) else value,
                       "exampleOfWork": _ref(f"#param-{name}")})
    graph += formal + values

    graph += inputs

    outputs = []
    for path in sorted(p for p in outdir.rglob("*") if p.is_file()):
        rel = path.relative_to(outdir).as_posix()
        if rel.startswith(SKIP_PREFIXES):
            continue
        extra: dict[str, Any] = {}
        if rel == "workflow/main.nf":
            extra = {"@type": ["File", "SoftwareSourceCode", "ComputationalWorkflow", "HowTo"],
                     "name": "soilbiome", "version": __version__,
                     "programmingLanguage": _ref(language["@id"]),
                     "input": [_ref(f["@id"]) for f in formal],
                     "step": [_ref(s["@id"]) for s in steps]}
        outputs.append(_file_entity(path, rel, **extra))
    graph += outputs

    status = ("http://schema.org/CompletedActionStatus" if success
              else "http://schema.org/FailedActionStatus")
    run_id = f"#run-{session_id or run_name}"
    run = {"@id": run_id, "@type": "CreateAction", "name": f"soilbiome run {run_name}",
           "identifier": run_name, "instrument": _ref("workflow/main.nf"),
           "object": [_ref(e["@id"]) for e in inputs] + [_ref(v["@id"]) for v in values],
           "result": [_ref(e["@id"]) for e in outputs if e["@id"] != "workflow/main.nf"],
           "actionStatus": _ref(status)}
    if start:
        run["startTime"] = start
    if end:
        run["endTime"] = end
    graph.append(run)

    controls, tasks = [], []
    for row in trace_rows:
        task_id = row.get("task_id") or row.get("hash", "").replace("/", "")
        process = row.get("process", "").split(":")[-1]
        task = {"@id": f"#task-{task_id}", "@type": "CreateAction", "name": row.get("name", ""),
                "identifier": row.get("hash", ""),
                "actionStatus": _ref("http://schema.org/CompletedActionStatus"
                                     if row.get("status") in ("COMPLETED", "CACHED")
                                     else "http://schema.org/FailedActionStatus"),
                "description": f"status {row.get('status', '')}, exit {row.get('exit', '')}"}
        used = tool_versions.get("processes", {}).get(process, {})
        if used:
            task["instrument"] = [_ref(f"#tool-{t}") for t in sorted(used) if t in tools]
        for key, col in (("startTime", "start"), ("endTime", "complete")):
            if _iso(row.get(col)):
                task[key] = _iso(row.get(col))
        tasks.append(task)
        controls.append({"@id": f"#control-{task_id}", "@type": "ControlAction",
                         "name": f"orchestrate {row.get('name', '')}",
                         "instrument": _ref(f"#step-{process}"),
                         "object": _ref(task["@id"])})
    graph += tasks + controls
    organize = {"@id": f"#organize-{session_id or run_name}", "@type": "OrganizeAction",
                "name": f"Nextflow run {run_name}", "instrument": _ref("#nextflow"),
                "object": [_ref(c["@id"]) for c in controls], "result": _ref(run_id)}
    if start:
        organize["startTime"] = start
    if end:
        organize["endTime"] = end
    graph.append(organize)

    root: dict[str, Any] = {
        "@id": "./", "@type": "Dataset",
        "name": str(params.get("batch_name") or run_name),
        "description": f"soilbiome results of run {run_name}: inputs, parameters, tools, "
                       "tasks and outputs with checksums.",
        "datePublished": end or dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat(),
        "conformsTo": [_ref(u) for u in PROFILES.values()],
        "mainEntity": _ref("workflow/main.nf"),
        "hasPart": [_ref(e["@id"]) for e in outputs + inputs],
        "mentions": [_ref(run_id)],
    }
    if licence:
        lic_id = f"https://spdx.org/licenses/{licence}"
        root["license"] = _ref(lic_id)
        graph.append({"@id": lic_id, "@type": "CreativeWork", "identifier": licence,
                      "name": licence})
    descriptor = {"@id": METADATA, "@type": "CreativeWork", "about": _ref("./"),
                  "conformsTo": [_ref("https://w3id.org/ro/crate/1.1"),
                                 _ref(PROFILES["wfcrate"])]}
    profiles = [{"@id": u, "@type": "CreativeWork", "name": k, "version": u.rsplit("/", 1)[-1]}
                for k, u in PROFILES.items()]
    document = {"@context": CONTEXT, "@graph": [descriptor, root, *profiles, *graph]}
    target = outdir / METADATA
    write_json(target, document)
    try:
        ROCrate(outdir)
    except Exception as exc:  # rocrate raises many types on a malformed crate
        target.unlink(missing_ok=True)
        raise InputError(f"the run crate does not load with rocrate ({exc})",
                         location=str(target)) from None
    return target


def _versions(path: str | Path | None) -> dict[str, Any]:
    """``software_versions.yml`` (``collect-versions``), read by the bounded YAML reader:
    {} when there is none; an error naming the file when it is not a YAML mapping."""
    from soilbiome.io.safe_yaml import load_yaml

    if not path or not Path(path).is_file():
        return {}
    data, _ = load_yaml(path, what="software versions file")
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InputError(f"not a mapping of tools and processes but {type(data).__name__}",
                         location=str(path))
    return data


def _schema_properties(schema: Mapping[str, Any]) -> dict[str, dict]:
    from soilbiome.run.params import properties

    return properties(schema)


def crate_files(crate: Mapping[str, Any]) -> Iterable[dict[str, Any]]:
    """The ``File`` entities of a loaded crate document."""
    for entity in crate.get("@graph", []):
        kinds = entity.get("@type", [])
        kinds = [kinds] if isinstance(kinds, str) else kinds
        if "File" in kinds:
            yield entity
