"""Class 2: unbounded parsing. Agreements, requests (and their key lists) are read by one
bounded YAML loader: size, alias expansion, nesting, tags and duplicate keys are refused
before any object is built, within seconds and a capped address space, naming the file and
the reason."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from .conftest import EXAMPLES, assert_clean_error, cli, make_biom, run

LAUGHS = "\n".join(
    ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 10)]
) + "\n"

CASES = {
    "alias_bomb": (LAUGHS.encode(), "expands to more than"),
    "deep_nesting": (b"a: " + b"[" * 50_000 + b"\n", "nested deeper than 64 levels"),
    "python_tag": (b"agreement: !!python/object/apply:os.system ['touch /tmp/pwned']\n",
                   "tag tag:yaml.org,2002:python/object/apply:os.system at line 1"),
    "custom_tag": (b"agreement: !include other.yaml\n", "tag !include at line 1"),
    "duplicate_key": (b"agreement: {id: a}\nlicense: x\nagreement: {id: b}\n",
                      "duplicate key 'agreement' (first on line 1) at line 3"),
    "too_large": (b"# " + b"x" * (2 << 20) + b"\n", "larger than 1048576 bytes"),
    "not_utf8": (b"agreement:\n  id: caf\xe9\n", "not UTF-8 text"),
    "binary": (b"\x00\x01\x02agreement", "NUL bytes"),
    "syntax": (b"agreement: [unclosed\n", "not valid YAML"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_agreement_and_request_refuse(tmp_path: Path, case: str) -> None:
    content, reason = CASES[case]
    bad = tmp_path / f"{case}.yaml"
    bad.write_bytes(content)
    start = time.monotonic()
    proc = cli("check", "agreement", bad)  # a child under the memory cap
    assert time.monotonic() - start < 60
    out = proc.stdout + proc.stderr
    assert proc.returncode in (1, 2) and "Traceback" not in out, out
    assert str(bad) in out and reason in out, out
    proc = run("check", "request", bad, "--agreement", EXAMPLES / "open-cc-by.yaml")
    out = proc.stdout + proc.stderr
    assert proc.returncode in (1, 2) and "Traceback" not in out and reason in out, out


@pytest.mark.parametrize("case", ["alias_bomb", "python_tag", "duplicate_key"])
def test_stamp_verify_keys_refuse_a_hostile_agreement(tmp_path: Path, case: str) -> None:
    content, reason = CASES[case]
    bad = tmp_path / "a.yaml"
    bad.write_bytes(content)
    key = tmp_path / "k.key"
    assert run("keys", "generate", key).returncode == 0
    table = make_biom(tmp_path / "t.biom", ["S1"])
    before = table.read_bytes()
    assert_clean_error(run("stamp", table, "--agreement", bad, "--key", key), str(bad), reason)
    assert table.read_bytes() == before
    assert_clean_error(run("keys", "trust", bad, "--key", key, "--out", tmp_path / "o.yaml"),
                       str(bad), reason)
    assert not (tmp_path / "o.yaml").exists()
    proc = run("verify", table, "--agreement", bad)
    assert proc.returncode in (1, 2) and "Traceback" not in proc.stderr
    assert reason in proc.stdout + proc.stderr


@pytest.mark.parametrize(("content", "reason"), [
    (b"", "None is not of type 'object'"),
    (b"- a\n- b\n", "is not of type 'object'"),
    (b"agreement:\n  id: x\n", "license: required field is missing"),
    (None, "--party nosuchparty: not the id of a party in parties[]"),
])
def test_keys_trust_copies_only_a_valid_agreement(tmp_path: Path, content: bytes | None,
                                                  reason: str) -> None:
    """An empty, non-mapping or incomplete agreement, or a --party it does not name: refused
    with the agreement's own problems (no traceback), and no copy written."""
    agreement = tmp_path / "a.yaml"
    agreement.write_bytes((EXAMPLES / "open-cc-by.yaml").read_bytes() if content is None
                          else content)
    key = tmp_path / "k.key"
    assert run("keys", "generate", key).returncode == 0
    party = ["--party", "nosuchparty"] if content is None else []
    assert_clean_error(run("keys", "trust", agreement, "--key", key, *party,
                           "--out", tmp_path / "o.yaml"), "a.yaml", reason, code=2)
    assert not (tmp_path / "o.yaml").exists()


def test_anchors_within_bounds_still_load(tmp_path: Path) -> None:
    """Bounded, not banned: a normal anchor/alias in a real agreement is fine."""
    text = (EXAMPLES / "open-cc-by.yaml").read_text(encoding="utf-8")
    good = tmp_path / "anchored.yaml"
    good.write_text("x-common: &common {note: shared}\n" + text, encoding="utf-8")
    proc = run("check", "agreement", good)
    assert "Traceback" not in proc.stderr
    out = proc.stdout + proc.stderr
    assert "not valid YAML" not in out and "refused" not in out, out
