"""Rules D7 (RO-Crate licence and checksums, BagIt manifest) and D9 (run id) of a stamp."""

from __future__ import annotations

import json
import re
from pathlib import Path, PurePosixPath
from typing import Any

from soilbiome.io.hashing import sha256_file
from soilbiome.sharing.agreement import Agreement
from soilbiome.sharing.findings import Report


def _crate_metadata(crate: Path) -> tuple[Path, dict[str, Any]]:
    for cand in (crate / "ro-crate-metadata.json", crate / "data" / "ro-crate-metadata.json"):
        if cand.is_file():
            return cand.parent, json.loads(cand.read_text(encoding="utf-8"))
    raise FileNotFoundError(f"no ro-crate-metadata.json in {crate}")


def _types(entity: dict[str, Any]) -> list[str]:
    t = entity.get("@type", [])
    return [t] if isinstance(t, str) else list(t)


#: An ``@id`` with a URI scheme (``file:``, ``https:``...) names something outside the crate
#: (RO-Crate 1.1: a web-based data entity, such as the run's inputs), not one of its files.
_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def crate_member(root: Path, rel: str) -> tuple[Path | None, str]:
    """The file ``rel`` names inside the crate folder ``root``, or ``(None, why not)``.

    A path that is absolute, climbs out with ``..`` or resolves (through a symbolic link)
    outside ``root`` is refused, so nothing outside the crate is ever read or hashed.
    """
    if not rel or rel.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:[\\/]", rel):
        return None, "is an absolute path, outside the crate"
    if ".." in PurePosixPath(rel.replace("\\", "/")).parts:
        return None, "climbs out of the crate with '..'"
    base = root.resolve()
    target = (root / rel).resolve()
    if target != base and base not in target.parents:
        return None, "resolves (through a symbolic link) outside the crate"
    return target, ""


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


def linked_crate(table: Path, stamp: dict[str, Any] | None) -> tuple[Path | None, str]:
    """The crate the stamp's ``run_crate`` link points to, if that file exists.

    Returns ``(crate folder or None, note)``; the note says what was found or why not.
    """
    link = (stamp or {}).get("run_crate")
    if not isinstance(link, str) or not link:
        return None, "the stamp links to no RO-Crate"
    target = (Path(table).resolve().parent / link).resolve()
    if target.is_file():
        return target.parent, f"RO-Crate found through the stamp's link ({link})"
    return None, f"the stamp links to {link}, which is not there ({target})"


def check_crate(crate: str | Path | None, ag: Agreement, stamp: dict[str, Any] | None,
                rep: Report, wanted: set[str], *, table_sha256: str | None = None,
                note: str = "") -> None:
    """Rules D7 and D9 against the run's crate.

    D7 also checks crate and table against each other: the crate must describe this very
    table (a ``File`` with the table's ``sha256``), so a crate from another run, or a table
    changed after its run, does not pass.
    """
    if crate is None:
        why = f" ({note})" if note else ""
        if "D7" in wanted:
            rep.abstain("D7", "--crate", "no RO-Crate supplied: licence and checksums not "
                        f"checked{why}")
        if "D9" in wanted:
            rep.abstain("D9", "--crate", f"no RO-Crate supplied: run id not matched{why}")
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
        external: list[str] = []
        for eid, ent in graph.items():
            if "File" not in _types(ent):
                continue
            where = f"ro-crate-metadata.json#{eid}"
            if isinstance(eid, str) and _URI.match(eid):
                external.append(eid)  # an input named by URI: not a file of the crate
                continue
            fpath, why = crate_member(root_dir, eid if isinstance(eid, str) else "")
            if fpath is None:
                rep.error("D7", where, f"File {eid!r} {why}; not hashed")
                ok = False
                continue
            missing = [k for k in ("sha256", "contentSize") if k not in ent]
            if missing:
                rep.error("D7", where, "File lacks " + ", ".join(missing))
                ok = False
                continue
            if not fpath.is_file():
                rep.error("D7", where, f"File {eid!r} is listed in the crate but missing from "
                          "it")
                ok = False
            elif str(fpath.stat().st_size) != str(ent["contentSize"]) or \
                    sha256_file(fpath) != ent["sha256"]:
                rep.error("D7", where, "size or sha256 does not match the file")
                ok = False
        if external:
            rep.info("D7", "ro-crate-metadata.json", f"{len(external)} File(s) named by URI "
                     "outside the crate (the run's inputs) are described, not checked")
        bag_root = root_dir.parent if root_dir.name == "data" else root_dir
        manifest = bag_root / "manifest-sha256.txt"
        if manifest.is_file():
            for line in manifest.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                digest, _, rel = line.strip().partition(" ")
                rel = rel.strip().lstrip("*")
                target, why = crate_member(bag_root, rel)
                if target is None:
                    rep.error("D7", f"manifest-sha256.txt:{rel}", f"BagIt manifest entry {why}; "
                              "not hashed")
                    ok = False
                elif not target.is_file() or sha256_file(target) != digest:
                    rep.error("D7", f"manifest-sha256.txt:{rel}", "BagIt manifest entry "
                              "does not verify")
                    ok = False
        else:
            rep.info("D7", str(crate), "no BagIt manifest-sha256.txt to verify")
        if table_sha256 is not None:
            described = {e.get("sha256") for e in graph.values() if "File" in _types(e)}
            if table_sha256 not in described:
                rep.error("D7", "ro-crate-metadata.json", "the crate does not describe this "
                          f"table (no File with sha256 {table_sha256[:16]}...): another run's "
                          "crate, or the table changed after its run")
                ok = False
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
