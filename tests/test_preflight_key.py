"""The start-up gate refuses a signing key STAMP would refuse at the end of the run."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conftest import ATACAMA_SHEET, ROOT

AGREEMENT = ROOT / "sharing_agreements" / "examples" / "open-cc-by.yaml"


def _gate(tmp_path: Path, key: object) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "soilbiome", "preflight", "--input", str(ATACAMA_SHEET),
         "--staging", str(tmp_path / "staging"), "--refdb-sheet",
         str(ROOT / "assets" / "refdb" / "test_refdb.csv"), "--refdb", "ten16s_sintax",
         "--agreement", str(AGREEMENT), "--signing-key", str(key)],
        capture_output=True, text=True, check=False)


@pytest.mark.parametrize(("kind", "message"), [
    ("untrusted", "is not in signing.trusted_keys of"),
    ("not a key", "key"),
])
def test_a_key_stamp_would_refuse_stops_the_run_before_it_starts(tmp_path, kind, message):
    key = tmp_path / "signing.key"
    if kind == "untrusted":  # a real key, but not one the agreement trusts
        made = subprocess.run([sys.executable, "-m", "soilbiome", "keys", "generate", str(key)],
                              capture_output=True, text=True, check=False)
        assert made.returncode == 0, made.stderr
    else:
        key.write_text("not a PEM key\n")
        key.chmod(0o600)
    proc = _gate(tmp_path, key)
    assert proc.returncode != 0 and "Traceback" not in proc.stderr, proc.stderr
    problems = [ln.strip() for ln in proc.stderr.splitlines() if ln.startswith("  ")]
    assert len(problems) == 1, proc.stderr
    assert str(key) in problems[0] and message in problems[0], problems
    assert problems[0].endswith("the run would fail at STAMP"), problems
    assert _gate(tmp_path, "throwaway").returncode == 0  # a key the gate makes it trust
