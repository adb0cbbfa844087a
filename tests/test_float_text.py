"""The C formatter of doubles (soilbiome.io.float_text): shortest round-trip digits, in the
layout of Arrow's float-to-string cast, which wrote soilbiome's lsmat files before it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from hypothesis import given, settings
from hypothesis import strategies as st

from soilbiome.diversity.writers import _arrow_rows, lsmat_rows
from soilbiome.io import float_text


def _arrow(values: np.ndarray) -> list[str]:
    return pc.cast(pa.array(values, type=pa.float64()), pa.large_string()).to_pylist()


def _ours(values: np.ndarray) -> list[str]:
    text = float_text.format_values(np.asarray(values, dtype=np.float64))
    assert text is not None
    return text.decode().split("\n")[:-1]


def _repr_digits(x: float) -> str:
    """The significant digits of repr(x)."""
    mantissa = repr(abs(float(x))).split("e")[0].replace(".", "").lstrip("0")
    return mantissa.rstrip("0") or "0"


def test_the_library_is_built_and_used() -> None:
    assert float_text.library() is not None


def test_every_kind_of_double_equals_arrow_and_reads_back() -> None:
    """Bit patterns drawn over every exponent and sign, whole numbers, single-precision
    values, every power of two, powers of ten around the layouts' borders, the special
    values: the same text as Arrow's cast, and float() gives the same double."""
    rng = np.random.default_rng(11)
    bits = rng.integers(0, 2**64 - 1, size=200_000, dtype=np.uint64, endpoint=True)
    special = [0.0, -0.0, np.nan, -np.nan, np.inf, -np.inf, 5e-324, -5e-324,
               2.2250738585072014e-308, 1.7976931348623157e308, 0.1, 0.30000000000000004,
               9007199254740991.0, 9007199254740992.0, 9007199254740994.0, 4503599627370496.5,
               999999999.9999999, 9999999999.0, 123456789012345678.0]
    values = np.concatenate([
        bits.view(np.float64), special, rng.random(50_000),
        rng.integers(-(2**53), 2**53, 20_000).astype(np.float64),
        rng.random(20_000).astype(np.float32).astype(np.float64),
        [2.0 ** k for k in range(-1074, 1024)],
        [s * 10.0 ** k for k in range(-12, 24) for s in (1.0, 1.5, -7.25)]])
    ours, arrow = _ours(values), _arrow(values)
    assert len(ours) == len(values)
    differ = [(repr(v), o, a) for v, o, a in zip(values, ours, arrow, strict=True) if o != a]
    assert differ == []
    for v, text in zip(values, ours, strict=True):
        if np.isnan(v):
            assert text == "nan"
        else:
            back = float(text)
            assert back == v and np.signbit(back) == np.signbit(v), (repr(v), text)
            if np.isfinite(v):
                assert text.lstrip("-").split("e")[0].replace(".", "").strip("0") == \
                    _repr_digits(v).strip("0"), (repr(v), text)


def test_layout_at_the_borders() -> None:
    cases = [(0.0, "0"), (-0.0, "-0")] + list({1.0: "1", 100.0: "100", 0.5: "0.5", 1e-6: "0.000001",
             1.234e-6: "0.000001234", 1e-7: "1e-7", 1.25e-7: "1.25e-7", 1e9: "1000000000",
             1e10: "1e+10", 1.5e10: "1.5e+10", 123456789.125: "123456789.125",
             5e-324: "5e-324", 1e100: "1e+100", -np.inf: "-inf", np.inf: "inf",
             9007199254740992.0: "9.007199254740992e+15"}.items())
    assert _ours(np.array([v for v, _ in cases])) == [text for _, text in cases]


@settings(max_examples=1000, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_double_as_arrow_writes_it(x: float) -> None:
    assert _ours(np.array([x])) == _arrow(np.array([x]))


def test_lsmat_rows_equal_arrows_byte_for_byte() -> None:
    rng = np.random.default_rng(2)
    rows = rng.random((7, 40)) * 10.0 ** rng.integers(-9, 12, (7, 40))
    rows[0, :3] = [0.0, np.nan, 1.0]
    ids = ["S1", "Sité-2", "échantillon_3", "x", "'=formula", "S 6", "七"]
    ours = lsmat_rows(ids, rows)
    assert ours == _arrow_rows(ids, rows)
    assert ours.count(b"\n") == 7 and ours.endswith(b"\n")
    assert float_text.lsmat_rows(ids[:3], np.zeros((3, 0))) == b"S1\nSit\xc3\xa9-2\n" \
        b"\xc3\xa9chantillon_3\n"


def test_without_the_library_the_matrix_file_is_the_same(tmp_path: Path) -> None:
    """SOILBIOME_NATIVE=0 (an install without a C compiler) formats with Arrow: same bytes."""
    script = ("import sys, numpy as np\n"
              "from pathlib import Path\n"
              "from soilbiome.diversity.beta import Distances\n"
              "from soilbiome.diversity.writers import write_lsmat\n"
              "from soilbiome.io import float_text\n"
              "rng = np.random.default_rng(6)\n"
              "m = rng.random((30, 30)) ** 3\n"
              "m = (m + m.T) / 2\n"
              "np.fill_diagonal(m, 0)\n"
              "ids = [f'S{i}' for i in range(30)]\n"
              "from scipy.spatial.distance import squareform\n"
              "write_lsmat(Distances(ids, squareform(m, checks=False), 'x'), Path(sys.argv[1]),\n"
              "            chunk=4)\n"
              "print(float_text.library() is not None)\n")
    used = {}
    for flag in ("1", "0"):
        proc = subprocess.run([sys.executable, "-c", script, str(tmp_path / f"{flag}.tsv")],
                              capture_output=True, text=True,
                              env=dict(os.environ, SOILBIOME_NATIVE=flag))
        assert proc.returncode == 0, proc.stderr
        used[flag] = proc.stdout.strip()
    assert used == {"1": "True", "0": "False"}
    assert (tmp_path / "1.tsv").read_bytes() == (tmp_path / "0.tsv").read_bytes()
