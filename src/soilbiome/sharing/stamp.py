"""Licence stamps on BIOM files: write (stamp), check (rules D1..D9), and merge checks (C15).

A stamp has three parts:

1. per-sample metadata columns (``sharing_agreement_id``, ``sharing_license``,
   ``provider_country``, ``abs_ircc``), written in the layout biom-format uses for sample
   metadata, so ``biom.load_table`` reads them and ``to_hdf5`` keeps them;
2. the root attribute ``x-sharing-stamp`` (compact JSON), which a biom round-trip drops;
3. the sidecar ``<file>.sharing.dsse.json``: an in-toto Statement v1 (subject = file name and
   SHA-256 of the stamped file, predicate = the stamp) in a DSSE envelope signed with Ed25519.

The stamp cannot contain the hash of the file it is embedded in, so the file's SHA-256 is
computed after embedding and appears only in the sidecar's subject. Stamping works on a copy
in the destination directory and renames it into place: an error leaves no partial output.
Large tables are never loaded whole: columns are written with h5py, hashing streams the file.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import h5py

from soilbiome import __version__
from soilbiome.io.hashing import sha256_file
from soilbiome.sharing import dsse
from soilbiome.sharing.agreement import Agreement, load_agreement, parse_date
from soilbiome.sharing.errors import SigningKeyError, StampError
from soilbiome.sharing.findings import Finding, Report
from soilbiome.sharing.keys import keyid_of, load_private_key, public_key_from_b64
from soilbiome.sharing.merge import Terms, combine_terms
from soilbiome.sharing.rules_agreement import check_agreement

STAMP_ATTR = "x-sharing-stamp"
SIDECAR_SUFFIX = ".sharing.dsse.json"
STATEMENT_TYPE = "https://in-toto.io/Statement/v1"
PREDICATE_TYPE = "https://w3id.org/soilbiome/sharing-stamp/v0.1"
STAMP_VERSION = "0.1"
COL_AGREEMENT, COL_LICENSE, COL_COUNTRY, COL_IRCC = (
    "sharing_agreement_id", "sharing_license", "provider_country", "abs_ircc"
)
SAMPLE_COLUMNS = (COL_AGREEMENT, COL_LICENSE, COL_COUNTRY, COL_IRCC)
#: MIxS slots that ENA checklist ERC000022 (GSC MIxS soil) makes mandatory (rule D8, ENA part).
ERC000022_MANDATORY = (
    "collection_date", "geo_loc_name", "lat_lon", "env_broad_scale", "env_local_scale",
    "env_medium", "depth", "elev",
)


def sidecar_path(path: str | Path) -> Path:
    """``<file>.sharing.dsse.json`` next to ``path``."""
    p = Path(path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def canonical_json(data: Any) -> str:
    """Compact, key-sorted JSON (the form embedded in the BIOM root attribute)."""
    return json.dumps(data, separators=(",", ":"), sort_keys=True, ensure_ascii=False)


# -- BIOM access with h5py --------------------------------------------------------------------
def _decode(values: Any) -> list[str]:
    return [v.decode("utf-8") if isinstance(v, bytes) else str(v) for v in values]


@dataclass
class BiomInfo:
    """What the stamp rules need from a BIOM file, read without loading the matrix."""

    sample_ids: list[str]
    sample_metadata: dict[str, list[str]]
    stamp_text: str | None


def read_biom_info(path: str | Path, columns: Sequence[str] | None = None) -> BiomInfo:
    """Read sample ids, sample metadata columns and the raw stamp attribute of a BIOM 2.1 file.

    Raises
    ------
    StampError
        When the file is not an HDF5 BIOM table.
    """
    try:
        with h5py.File(path, "r") as f:
            if "sample/ids" not in f:
                raise StampError(f"{path}: not a BIOM 2.1 table (no sample/ids)")
            ids_ds = f["sample/ids"]
            ids = _decode(ids_ds[()]) if ids_ds.shape and ids_ds.shape[0] else []
            md: dict[str, list[str]] = {}
            grp = f.get("sample/metadata")
            if grp is not None:
                for name in grp:
                    key = name.replace("@@SLASH@@", "/")
                    if columns is not None and key not in columns:
                        continue
                    ds = grp[name]
                    if ds.ndim == 1:
                        md[key] = _decode(ds[()])
            raw = f.attrs.get(STAMP_ATTR)
            if isinstance(raw, bytes):
                raw = raw.decode("utf-8", errors="replace")
            return BiomInfo(ids, md, None if raw is None else str(raw))
    except OSError as exc:
        raise StampError(f"{path}: not a readable HDF5 BIOM file ({exc})") from None


def _write_sample_columns(f: h5py.File, values: dict[str, list[str]]) -> None:
    grp = f.require_group("sample/metadata")
    for name, column in values.items():
        if name in grp:
            del grp[name]
        grp.create_dataset(name, data=[v.encode("utf-8") for v in column],
                           dtype=h5py.string_dtype("utf-8"))


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
    agreement: Agreement, *, run_id: str | None, n_samples: int, now: dt.datetime
) -> dict[str, Any]:
    """The stamp (predicate) for a table under ``agreement``. Contains no file hash."""
    terms = Terms.from_agreement(agreement, source=agreement.id)
    return {
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
    }


def _trusted_entry(agreement: Agreement, keyid: str) -> dict[str, Any] | None:
    for k in agreement.get("signing.trusted_keys") or []:
        if k.get("keyid") == keyid:
            return k
    return None


def _tmp_name(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}.{os.urandom(6).hex()}.tmp")


def stamp_biom(
    path: str | Path,
    agreement_path: str | Path,
    key_path: str | Path | Sequence[str | Path] | None = None,
    run_id: str | None = None,
    *,
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
    dest.parent.mkdir(parents=True, exist_ok=True)
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
    revoked = set(agreement.get("signing.revoked_keyids") or [])
    keyids = []
    for kp, key in zip(key_paths, keys, strict=False):
        kid = keyid_of(key.public_key())
        entry = _trusted_entry(agreement, kid)
        if entry is None:
            raise SigningKeyError(f"key {kp} ({kid}) is not in signing.trusted_keys of "
                                  f"{agreement_path}")
        if kid in revoked:
            raise SigningKeyError(f"key {kp} ({kid}) is revoked")
        start, end = parse_date(entry.get("valid_from")), parse_date(entry.get("valid_until"))
        if (start and today < start) or (end and today > end):
            raise SigningKeyError(f"key {kp} ({kid}) is not valid on {today}")
        keyids.append(kid)
    if not src.is_file():
        raise StampError(f"{src}: no such file")

    tmp = _tmp_name(dest)
    tmp_sidecar = _tmp_name(sidecar_path(dest))
    try:
        shutil.copyfile(src, tmp)
        try:
            with h5py.File(tmp, "r+") as f:
                if "sample/ids" not in f:
                    raise StampError(f"{src}: not a BIOM 2.1 table (no sample/ids)")
                ids_ds = f["sample/ids"]
                ids = _decode(ids_ds[()]) if ids_ds.shape and ids_ds.shape[0] else []
                stamp = build_stamp(agreement, run_id=run_id, n_samples=len(ids), now=now)
                fill = {
                    COL_AGREEMENT: agreement.id,
                    COL_LICENSE: agreement.spdx,
                    COL_COUNTRY: agreement.provider_country or "",
                    COL_IRCC: ";".join(agreement.get("abs.ircc") or []),
                }
                if ids:
                    grp = f.get("sample/metadata")
                    columns = {}
                    for name, value in fill.items():
                        old = _decode(grp[name][()]) if grp is not None and name in grp else None
                        # keep per-sample provenance already present (e.g. in a merged table)
                        columns[name] = [o if old and o else value
                                         for o in (old or [""] * len(ids))]
                    _write_sample_columns(f, columns)
                f.attrs[STAMP_ATTR] = canonical_json(stamp)
        except OSError as exc:
            raise StampError(f"{src}: not a writable HDF5 BIOM file ({exc})") from None
        digest = sha256_file(tmp)
        statement = {
            "_type": STATEMENT_TYPE,
            "subject": [{"name": dest.name, "digest": {"sha256": digest}}],
            "predicateType": PREDICATE_TYPE,
            "predicate": stamp,
        }
        envelope = dsse.sign(canonical_json(statement).encode("utf-8"), keys)
        with open(tmp_sidecar, "w", encoding="utf-8") as handle:
            json.dump(envelope, handle, indent=2)
            handle.write("\n")
        os.replace(tmp, dest)
        os.replace(tmp_sidecar, sidecar_path(dest))
    except BaseException:
        for t in (tmp, tmp_sidecar):
            try:
                t.unlink()
            except OSError:
                pass
        raise
    return StampResult(str(dest), str(sidecar_path(dest)), digest, keyids, stamp)


# -- verification (D rules) ---------------------------------------------------------------------
D_RULES = tuple(f"D{i}" for i in range(1, 10))


def _load_sidecar(path: Path) -> tuple[dsse.Envelope | None, dict[str, Any] | None, str | None]:
    """Return (envelope, statement, problem)."""
    if not path.is_file():
        return None, None, f"sidecar {path.name} is missing"
    try:
        env = dsse.Envelope.parse(json.loads(path.read_text(encoding="utf-8")))
        if env.payload_type != dsse.IN_TOTO_PAYLOAD_TYPE:
            return env, None, f"payloadType {env.payload_type!r} is not in-toto"
        st = env.statement()
    except (OSError, ValueError) as exc:
        return None, None, f"sidecar unreadable: {exc}"
    if not isinstance(st, dict) or st.get("_type") != STATEMENT_TYPE:
        return env, None, "payload is not an in-toto Statement v1"
    if st.get("predicateType") != PREDICATE_TYPE:
        return env, None, f"predicateType {st.get('predicateType')!r} is not a sharing stamp"
    return env, st, None


def verify_report(
    path: str | Path,
    agreement: Agreement | str | Path,
    *,
    today: dt.date | None = None,
    crate: str | Path | None = None,
    rules: Sequence[str] = D_RULES,
) -> Report:
    """Evaluate rules D1..D9 on a stamped BIOM file; return the full report.

    Parameters
    ----------
    path : str or Path
        The stamped BIOM table; its sidecar is ``<path>.sharing.dsse.json``.
    agreement : Agreement or path
        The agreement the table should be stamped under.
    today : datetime.date, optional
        Unused by D rules except for messages; keys are checked at signing time.
    crate : path, optional
        RO-Crate directory (or BagIt bag holding one) for D7/D9; without it they ABSTAIN.
    rules : sequence of str
        Subset of D rules to evaluate.
    """
    p = Path(path)
    ag = agreement if isinstance(agreement, Agreement) else load_agreement(agreement)
    rep = Report(f"artefact {p}")
    where = p.name
    wanted = set(rules)
    # D1 -----------------------------------------------------------------------------------------
    embedded = None
    info = None
    try:
        info = read_biom_info(p)
    except StampError as exc:
        rep.error("D1", where, str(exc))
    if info is not None:
        if info.stamp_text is None:
            rep.error("D1", where, f"no {STAMP_ATTR} root attribute: stamp lost (e.g. by a biom "
                      "load_table/to_hdf5 round-trip); re-stamp the file")
        else:
            try:
                embedded = json.loads(info.stamp_text)
                if not isinstance(embedded, dict):
                    raise ValueError("not a JSON object")
                rep.ok("D1")
            except ValueError as exc:
                rep.error("D1", where, f"{STAMP_ATTR} is not valid JSON: {exc}")
                embedded = None
    # sidecar ------------------------------------------------------------------------------------
    side = sidecar_path(p)
    env, statement, problem = _load_sidecar(side)
    predicate = statement.get("predicate") if statement else None
    if "D2" in wanted:
        if problem:
            rep.error("D2", side.name, problem)
        else:
            _check_signatures(env, predicate, ag, rep, side.name)
    if "D3" in wanted:
        if statement is None:
            rep.abstain("D3", where, "no valid sidecar statement to compare the file hash with")
        else:
            digests = [s.get("digest", {}).get("sha256") for s in statement.get("subject") or []]
            actual = sha256_file(p)
            if actual in digests:
                rep.ok("D3")
                names = [s.get("name") for s in statement.get("subject") or []]
                if p.name not in names:
                    rep.info("D3", where, f"file renamed since stamping (subject {names})")
            else:
                rep.error("D3", where, f"SHA-256 {actual[:16]}... matches no statement subject: "
                          "the file changed after stamping")
    if "D4" in wanted:
        if predicate is None or embedded is None:
            rep.abstain("D4", where, "needs both the embedded stamp and the signed predicate")
        elif embedded == predicate:
            rep.ok("D4")
        else:
            keys = sorted(k for k in set(embedded) | set(predicate)
                          if embedded.get(k) != predicate.get(k))
            rep.error("D4", where, "embedded stamp differs from the signed predicate in: "
                      + ", ".join(keys))
    if "D5" in wanted:
        source = predicate if predicate is not None else embedded
        if source is None:
            rep.abstain("D5", where, "no stamp to read agreement_sha256 from")
        elif source.get("agreement_sha256") == ag.sha256:
            rep.ok("D5")
        else:
            rep.error("D5", ag.path, f"stamp was made under agreement sha256 "
                      f"{str(source.get('agreement_sha256'))[:16]}..., not this file "
                      f"({ag.sha256[:16]}...)")
    if "D6" in wanted:
        allowed = ag.sample_ids
        if info is None:
            rep.abstain("D6", where, "sample ids unreadable")
        elif allowed is None:
            rep.abstain("D6", "datasets[].samples.sample_ids", "agreement lists no sample ids")
        else:
            extra = [s for s in info.sample_ids if s not in allowed]
            if extra:
                shown = ", ".join(extra[:5]) + (" ..." if len(extra) > 5 else "")
                rep.error("D6", where, f"{len(extra)} sample(s) not covered by the agreement: "
                          f"{shown}")
            else:
                rep.ok("D6")
    if "D7" in wanted or "D9" in wanted:
        _check_crate(crate, ag, predicate or embedded, rep, wanted)
    if "D8" in wanted:
        if info is not None:
            missing = [c for c in ERC000022_MANDATORY if c not in info.sample_metadata]
            if missing:
                rep.warning("D8", where, "ENA ERC000022 mandatory sample fields missing: "
                            + ", ".join(missing))
        rep.abstain("D8", where, "MIxS LinkML validation (linkml-validate -C MimsSoil) not run "
                    "by soilbiome verify; run it on the sample sheet")
    return rep


def verify_biom(
    path: str | Path,
    agreement_path: Agreement | str | Path,
    *,
    today: dt.date | None = None,
    crate: str | Path | None = None,
) -> list[Finding]:
    """Rules D1..D9 for a stamped BIOM file; return the findings (see :func:`verify_report`)."""
    return verify_report(path, agreement_path, today=today, crate=crate).sorted_findings()


def _check_signatures(env: dsse.Envelope, predicate: dict[str, Any] | None, ag: Agreement,
                      rep: Report, where: str) -> None:
    signed_on = parse_date((predicate or {}).get("stamped_at"))
    revoked = set(ag.get("signing.revoked_keyids") or [])
    trusted = {k["keyid"]: k for k in ag.get("signing.trusted_keys") or []}
    good_parties: set[str] = set()
    notes: list[str] = []
    for sig in env.signatures:
        kid = str(sig.get("keyid"))
        entry = trusted.get(kid)
        if entry is None:
            notes.append(f"signature by {kid[:23]}... (not a trusted key)")
            continue
        if kid in revoked:
            notes.append(f"key {kid[:23]}... is revoked")
            continue
        try:
            pub = public_key_from_b64(entry["public_key_b64"])
        except SigningKeyError:
            notes.append(f"trusted key {kid[:23]}... is malformed")
            continue
        if keyid_of(pub) != kid or not env.verify(kid, pub):
            notes.append(f"signature by {kid[:23]}... does not verify")
            continue
        start, end = parse_date(entry.get("valid_from")), parse_date(entry.get("valid_until"))
        if signed_on is None:
            notes.append("stamp has no stamped_at date")
            continue
        if (start and signed_on < start) or (end and signed_on > end):
            notes.append(f"key {kid[:23]}... was not valid on {signed_on}")
            continue
        good_parties.add(entry.get("party"))
    if not good_parties:
        rep.error("D2", where, "no valid signature by a trusted key"
                  + (": " + "; ".join(notes) if notes else ""))
        return
    missing = sorted(set(ag.get("signing.required_signers") or []) - good_parties)
    if missing:
        rep.error("D2", where, "missing signature(s) of required signer(s): " + ", ".join(missing))
        return
    rep.ok("D2")
    for n in notes:
        rep.info("D2", where, f"ignored {n}")


def _crate_metadata(crate: Path) -> tuple[Path, dict[str, Any]]:
    for cand in (crate / "ro-crate-metadata.json", crate / "data" / "ro-crate-metadata.json"):
        if cand.is_file():
            return cand.parent, json.loads(cand.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"no ro-crate-metadata.json in {crate}")


def _types(entity: dict[str, Any]) -> list[str]:
    t = entity.get("@type", [])
    return [t] if isinstance(t, str) else list(t)


def _licence_id(value: Any) -> str | None:
    if isinstance(value, dict):
        value = value.get("@id")
    if isinstance(value, list) and value:
        return _licence_id(value[0])
    if not isinstance(value, str):
        return None
    for prefix in ("https://spdx.org/licenses/", "http://spdx.org/licenses/"):
        if value.startswith(prefix):
            return value[len(prefix):].removesuffix(".html")
    return value


def _check_crate(crate: str | Path | None, ag: Agreement, stamp: dict[str, Any] | None,
                 rep: Report, wanted: set[str]) -> None:
    if crate is None:
        if "D7" in wanted:
            rep.abstain("D7", "--crate", "no RO-Crate supplied: licence and checksums not checked")
        if "D9" in wanted:
            rep.abstain("D9", "--crate", "no RO-Crate supplied: run id not matched")
        return
    crate = Path(crate)
    try:
        root_dir, meta = _crate_metadata(crate)
    except (OSError, ValueError) as exc:
        for r in ("D7", "D9"):
            if r in wanted:
                rep.error(r, str(crate), f"RO-Crate unreadable: {exc}")
        return
    graph = {e.get("@id"): e for e in meta.get("@graph", []) if isinstance(e, dict)}
    if "D7" in wanted:
        ok = True
        descriptor = graph.get("ro-crate-metadata.json", {})
        root = graph.get((descriptor.get("about") or {}).get("@id", "./"), {})
        lic_ref = root.get("license")
        lic = _licence_id(lic_ref)
        if isinstance(lic_ref, dict) and lic_ref.get("@id") in graph:
            ent = graph[lic_ref["@id"]]
            lic = ent.get("identifier") and _licence_id(ent["identifier"]) or lic
        if lic != ag.spdx:
            rep.error("D7", "ro-crate-metadata.json#./license",
                      f"crate licence {lic!r} != agreement licence {ag.spdx!r}")
            ok = False
        for eid, ent in graph.items():
            if "File" not in _types(ent):
                continue
            missing = [k for k in ("sha256", "contentSize") if k not in ent]
            if missing:
                rep.error("D7", f"ro-crate-metadata.json#{eid}", "File lacks " + ", ".join(missing))
                ok = False
                continue
            fpath = root_dir / eid
            if fpath.is_file():
                if str(fpath.stat().st_size) != str(ent["contentSize"]) or \
                        sha256_file(fpath) != ent["sha256"]:
                    rep.error("D7", f"ro-crate-metadata.json#{eid}", "size or sha256 does not "
                              "match the file")
                    ok = False
        bag_root = root_dir.parent if root_dir.name == "data" else root_dir
        manifest = bag_root / "manifest-sha256.txt"
        if manifest.is_file():
            for line in manifest.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                digest, _, rel = line.strip().partition(" ")
                target = bag_root / rel.strip().lstrip("*")
                if not target.is_file() or sha256_file(target) != digest:
                    rep.error("D7", f"manifest-sha256.txt:{rel.strip()}", "BagIt manifest entry "
                              "does not verify")
                    ok = False
        else:
            rep.info("D7", str(crate), "no BagIt manifest-sha256.txt to verify")
        if ok:
            rep.ok("D7")
    if "D9" in wanted:
        run_id = (stamp or {}).get("run_id")
        actions = [e for e in graph.values() if "CreateAction" in _types(e)]
        if not run_id:
            rep.warning("D9", "stamp.run_id", "stamp records no run id")
        elif not actions:
            rep.warning("D9", "ro-crate-metadata.json", "crate has no CreateAction")
        elif not any(run_id in (a.get("@id"), a.get("identifier"), a.get("name")) or
                     str(a.get("@id", "")).endswith(run_id) for a in actions):
            rep.warning("D9", "ro-crate-metadata.json", f"no CreateAction for run {run_id!r}")
        else:
            rep.ok("D9")


# -- merge check (C rules incl. C15) --------------------------------------------------------------
def check_merge(
    paths: Sequence[str | Path],
    agreements: Sequence[str | Path | Agreement] = (),
    *,
    declared_license: str | None = None,
    today: dt.date | None = None,
) -> Report:
    """Check whether stamped BIOM tables may be merged, and with which terms (C1..C15).

    Parameters
    ----------
    paths : sequence of path
        Stamped BIOM tables.
    agreements : sequence, optional
        Agreements of the inputs. When given, each input's stamp is verified (D1..D6) against
        the agreement whose SHA-256 it records, and that agreement's terms are used; otherwise
        the embedded stamps' terms are used unverified.
    declared_license : str, optional
        Licence the merged output is to carry (checked by C1, C2, C5, C12).
    today : datetime.date, optional
        Reference date.

    Returns
    -------
    Report
        With ``details["merged_terms"]`` summarising the combined terms; call
        :func:`soilbiome.sharing.merge.combine_terms` for the full :class:`MergeResult`.
    """
    loaded = [a if isinstance(a, Agreement) else load_agreement(a) for a in agreements]
    by_sha = {a.sha256: a for a in loaded}
    rep = Report(f"merge of {len(paths)} table(s)")
    terms: list[Terms] = []
    c15 = True
    for path in paths:
        p = Path(path)
        try:
            info = read_biom_info(p, columns=SAMPLE_COLUMNS)
        except StampError as exc:
            rep.error("D1", p.name, str(exc))
            c15 = False
            continue
        try:
            stamp = json.loads(info.stamp_text) if info.stamp_text else None
        except ValueError:
            stamp = None
        if not isinstance(stamp, dict):
            rep.error("D1", p.name, "no readable x-sharing-stamp: terms unknown, cannot merge")
            c15 = False
            continue
        if loaded:
            ag = by_sha.get(stamp.get("agreement_sha256"))
            if ag is None:
                rep.error("D5", p.name, "none of the supplied agreements matches the stamp's "
                          "agreement_sha256")
            else:
                sub = verify_report(p, ag, today=today, rules=("D2", "D3", "D4", "D5", "D6"))
                for f in sub.findings:
                    rep.add(f.rule, f.severity, f"{p.name}: {f.where}", f.reason)
                terms.append(Terms.from_agreement(ag, source=p.name))
        else:
            rep.info("D2", p.name, "stamp not verified (no --agreement given): using its terms")
        if not loaded or by_sha.get(stamp.get("agreement_sha256")) is None:
            terms.append(Terms.from_dict(stamp.get("terms") or {
                "agreement_id": stamp.get("agreement_id"), "license": stamp.get("license")
            }, source=p.name))
        # C15: per-sample provenance
        country = info.sample_metadata.get(COL_COUNTRY)
        ircc = info.sample_metadata.get(COL_IRCC)
        abs_applies = (stamp.get("terms") or {}).get("abs", {}).get("applicable") is True
        if not info.sample_ids:
            continue
        if country is None:
            rep.error("C15", p.name, f"no {COL_COUNTRY} sample column")
            c15 = False
        else:
            blank = [s for s, c in zip(info.sample_ids, country, strict=False) if not c]
            if blank:
                rep.error("C15", p.name, f"{len(blank)} sample(s) lack {COL_COUNTRY}: "
                          + ", ".join(blank[:5]))
                c15 = False
        if abs_applies:
            column = ircc or [""] * len(info.sample_ids)
            blank = [s for s, c in zip(info.sample_ids, column, strict=False) if not c]
            if blank:
                rep.error("C15", p.name, f"ABS applies but {len(blank)} sample(s) lack "
                          f"{COL_IRCC}: " + ", ".join(blank[:5]))
                c15 = False
    if c15:
        rep.ok("C15")
    if terms:
        result = combine_terms(terms, declared_license=declared_license)
        rep.extend(result.report)
    return rep
