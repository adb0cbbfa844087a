"""Write a licence stamp into a BIOM file and sign its sidecar (see :mod:`.stamp_format`).

The stamp cannot contain the hash of the file it is embedded in, so the file's SHA-256 is
computed after embedding and appears only in the sidecar's subject. Stamping works on a copy
in the destination directory and renames it into place: an error leaves no partial output.
Large tables are never loaded whole: the copy is checked by the one reader's streaming form
(:func:`~soilbiome.io.biom_reader.check_table`), columns are written with h5py, hashing streams
the file (see ``bench/bench_stamp.py``).

Verification (rules D1..D10) is in :mod:`soilbiome.sharing.verify`, merge checks in
:mod:`soilbiome.sharing.merge_check`; their names are re-exported here for older imports.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from soilbiome import __version__
from soilbiome.io.atomic import atomic_outputs, ensure_room, is_disk_full
from soilbiome.io.biom_checks import check_ids
from soilbiome.io.biom_validate import validate_streaming
from soilbiome.io.hashing import sha256_file
from soilbiome.io.jsonfile import dumps
from soilbiome.model.tree import FeatureTree
from soilbiome.sharing import dsse
from soilbiome.sharing.agreement import Agreement, check_coverage, load_agreement
from soilbiome.sharing.errors import SigningKeyError, StampError
from soilbiome.sharing.keys import check_signing_keys, load_private_key
from soilbiome.sharing.rules_agreement import check_agreement
from soilbiome.sharing.stamp_format import (  # noqa: F401  (re-exported)
    COL_AGREEMENT,
    COL_COUNTRY,
    COL_IRCC,
    COL_LICENSE,
    ERC000022_MANDATORY,
    PREDICATE_TYPE,
    SAMPLE_COLUMNS,
    SIDECAR_SUFFIX,
    STAMP_ATTR,
    STAMP_VERSION,
    STATEMENT_TYPE,
    BiomInfo,
    _decode,
    _write_sample_columns,
    canonical_json,
    read_biom_info,
    sidecar_path,
)
from soilbiome.sharing.terms import Terms


# -- stamping ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class StampResult:
    """What :func:`stamp_biom` wrote."""

    path: str
    sidecar: str
    sha256: str
    keyids: list[str]
    stamp: dict[str, Any]


def build_stamp(
    agreement: Agreement, *, run_id: str | None, n_samples: int, now: dt.datetime,
    run_crate: str | None = None, tree: FeatureTree | None = None,
) -> dict[str, Any]:
    """The stamp (predicate) for a table under ``agreement``. Contains no file hash.

    ``run_crate`` is the link to the run's RO-Crate, relative to the table (the pipeline
    writes ``../ro-crate-metadata.json``); ``soilbiome verify`` follows it for D7/D9.
    ``tree`` is the table's phylogenetic tree: its location and SHA-256 are signed (D10).
    """
    terms = Terms.from_agreement(agreement, source=agreement.id)
    stamp = {
        "stamp_version": STAMP_VERSION,
        "agreement_id": agreement.id,
        "agreement_version": agreement.get("agreement.version"),
        "agreement_sha256": agreement.sha256,
        "license": agreement.spdx,
        "derived_outputs_license": agreement.derived_licence.expression,
        "metadata_license": agreement.get("license.metadata_license"),
        "provider_country": agreement.provider_country,
        "ircc": list(agreement.get("abs.ircc") or []),
        "terms": terms.to_dict(),
        "samples": n_samples,
        "sample_columns": list(SAMPLE_COLUMNS),
        "generated_by": {"name": "soilbiome", "version": __version__},
        "run_id": run_id,
        "stamped_at": now.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "tree": {"location": tree.location, "sha256": tree.sha256} if tree else None,
    }
    if run_crate:
        stamp["run_crate"] = run_crate
    return stamp


def _early_coverage(src: Path, agreement: Agreement) -> None:
    """Refuse uncovered samples before copying anything (the copy is checked again)."""
    try:
        with h5py.File(src, "r") as f:
            ids, problems = check_ids(f, "sample")
    except (OSError, ValueError, RuntimeError, KeyError, TypeError):
        return  # not readable here: the validation of the copy names the problem
    if ids is not None and not problems:
        check_coverage(ids, agreement, where=str(src))


def _embed(tmp: Path, src: Path, ids: list[str], agreement: Agreement,
           stamp: dict[str, Any]) -> None:
    """Write the stamp and the per-sample licence columns into the copy ``tmp``."""
    fill = {
        COL_AGREEMENT: agreement.id,
        COL_LICENSE: agreement.spdx,
        COL_COUNTRY: agreement.provider_country or "",
        COL_IRCC: ";".join(agreement.get("abs.ircc") or []),
    }
    text = canonical_json(stamp)
    # HDF5 cannot survive a failed write: make sure the file can grow by what is added first
    room = 2 * len(text.encode("utf-8")) + sum(
        2 * len(ids) * (len(v.encode("utf-8")) + 64) for v in fill.values()) + (1 << 20)
    ensure_room(tmp, room)
    try:
        with h5py.File(tmp, "r+") as f:
            if ids:
                grp = f.get("sample/metadata")
                columns = {}
                for name, value in fill.items():
                    old = _decode(grp[name][()]) if grp is not None and name in grp else None
                    # keep per-sample provenance already present (e.g. in a merged table)
                    columns[name] = [o if old and o else value
                                     for o in (old or [""] * len(ids))]
                _write_sample_columns(f, columns)
            f.attrs[STAMP_ATTR] = text
    except OSError as exc:
        if is_disk_full(exc):
            raise
        raise StampError(f"{src}: not a writable HDF5 BIOM file ({exc})") from None
    except ValueError:
        raise StampError(f"{src}: sample metadata holds text that is not UTF-8") from None


def _prepare_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StampError(f"cannot create output folder {folder}: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise StampError(f"output folder {folder} is not writable")


def stamp_biom(
    path: str | Path,
    agreement_path: str | Path,
    key_path: str | Path | Sequence[str | Path] | None = None,
    run_id: str | None = None,
    *,
    run_crate: str | None = None,
    output: str | Path | None = None,
    today: dt.date | None = None,
    now: dt.datetime | None = None,
) -> StampResult:
    """Stamp a BIOM file under an agreement and write its signed sidecar.

    Parameters
    ----------
    path : str or Path
        BIOM 2.1 (HDF5) table.
    agreement_path : str or Path
        Agreement YAML; it must pass rules A1..A17 without ERROR.
    key_path : path or list of paths, optional
        Ed25519 private key(s); default: the file named by ``$SOILBIOME_SIGNING_KEY``. Every key
        must be a trusted, unrevoked, unexpired key of the agreement.
    run_id : str, optional
        Pipeline run id recorded in the stamp (rule D9 matches it with the RO-Crate).
    run_crate : str, optional
        Path of the run's RO-Crate metadata relative to the stamped table, recorded in the
        stamp so that ``verify`` finds the crate (rules D7, D9).
    output : str or Path, optional
        Write the stamped table here instead of replacing ``path``.
    today, now : optional
        Injectable clock (tests).

    Returns
    -------
    StampResult

    Raises
    ------
    AgreementError, SigningKeyError, StampError
        Nothing is written when any is raised.
    """
    now = now or dt.datetime.now(dt.UTC)
    today = today or now.date()
    src = Path(path)
    dest = Path(output) if output else src
    agreement = load_agreement(agreement_path)
    report = check_agreement(agreement, today=today)
    if report.has_errors:
        errs = [f"{f.rule} {f.where}: {f.reason}" for f in report.findings
                if f.severity.value == "ERROR"]
        raise StampError(f"agreement {agreement_path} has errors; not stamping:\n  "
                         + "\n  ".join(errs))
    if key_path is None:
        env = os.environ.get("SOILBIOME_SIGNING_KEY")
        if not env:
            raise SigningKeyError("no signing key: give --key or set SOILBIOME_SIGNING_KEY")
        key_path = env
    key_paths = [key_path] if isinstance(key_path, (str, Path)) else list(key_path)
    keys = [load_private_key(k) for k in key_paths]
    keyids = check_signing_keys(agreement, list(zip(key_paths, keys, strict=True)), today,
                                agreement_path)
    _early_coverage(src, agreement)
    _prepare_folder(dest.parent)
    with atomic_outputs() as outputs:  # renamed into place together, table first
        tmp = outputs.file(dest)
        tmp_sidecar = outputs.file(sidecar_path(dest))
        try:
            shutil.copyfile(src, tmp)
        except OSError as exc:
            if is_disk_full(exc):
                raise
            raise StampError(f"cannot write {dest}: {exc.strerror or exc}") from None
        # one gate decides what may be signed: the checks of 'soilbiome biom validate' (the
        # one reader, root attributes, taxonomy layout, tree, biom-format's validator), run on
        # the copy that is signed, streaming its values; only the metadata a run adds (MIxS
        # fields, taxonomy) is not required of tables made elsewhere
        table, problems = validate_streaming(tmp, required_sample_metadata=(),
                                             required_observation_metadata=())
        if problems or table is None:
            problems = [p.replace(str(tmp), str(src)) for p in problems]
            shown = "; ".join(problems[:3]) + (f" (and {len(problems) - 3} more)"
                                               if len(problems) > 3 else "")
            raise StampError(f"{src}: fails 'soilbiome biom validate': {shown}; not stamping")
        check_coverage(table.sample_ids, agreement, where=str(src))
        ids = list(table.sample_ids)
        stamp = build_stamp(agreement, run_id=run_id, n_samples=len(ids), now=now,
                            run_crate=run_crate, tree=table.tree)
        # how the table was made is part of the signed statement (the file's SHA-256 covers it
        # too): an edited context fails verify
        stamp["processing_context"] = table.context.to_dict()
        _embed(tmp, src, ids, agreement, stamp)
        digest = sha256_file(tmp)
        statement = {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": dest.name, "digest": {"sha256": digest}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": stamp,
        }
        envelope = dsse.sign(canonical_json(statement).encode("utf-8"), keys)
        with open(tmp_sidecar, "w", encoding="utf-8") as handle:
            handle.write(dumps(envelope) + "\n")
    return StampResult(str(dest), str(sidecar_path(dest)), digest, keyids, stamp)


# re-exported for code that imported them from here before the split
from soilbiome.sharing.merge_check import check_merge  # noqa: E402, F401
from soilbiome.sharing.verify import D_RULES, verify_biom, verify_report  # noqa: E402, F401
