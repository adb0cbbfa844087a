"""compare: shotgun tables of different profilers or databases are not mixed."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from soilbiome.compare.comparable import NotComparable, plan_comparison
from soilbiome.model.context import ProcessingContext


def _table(**fields):  # noqa: ANN003, ANN202
    base = dict(marker="shotgun", method="Kraken2", reference="k2", reference_version="1",
                reference_sha256="a" * 64, taxonomy_system="NCBI", value_kind="counts")
    return SimpleNamespace(context=ProcessingContext(**{**base, **fields}))


def test_sylph_and_kraken2_tables_are_refused():
    tables = [_table(), _table(method="sylph", reference="k2")]
    with pytest.raises(NotComparable, match="different profilers or databases.*profiler "
                       "differs \\(a=Kraken2, b=sylph\\)"):
        plan_comparison(tables, ["a", "b"], collapse=True, rank="genus")


def test_same_profiler_other_database_digest_is_refused_even_with_mixed_taxonomy():
    tables = [_table(), _table(reference_sha256="b" * 64)]
    with pytest.raises(NotComparable, match="database digest differs"):
        plan_comparison(tables, ["a", "b"], collapse=True, rank="genus",
                        accept_mixed_taxonomy=True)


def test_same_profiler_and_database_are_comparable():
    plan = plan_comparison([_table(), _table()], ["a", "b"], collapse=True, rank="genus")
    assert plan.feature_mode == "taxa"


def test_different_read_qc_is_a_caveat_not_silence():
    same = plan_comparison([_table(read_qc="fastp"), _table(read_qc="fastp")], ["a", "b"],
                           collapse=True, rank="genus")
    assert not any("read QC" in c for c in same.caveats)
    plan = plan_comparison([_table(read_qc="fastp"), _table(read_qc="none")], ["a", "b"],
                           collapse=True, rank="genus")
    assert any(c.startswith("read QC differs (a=fastp, b=none)") for c in plan.caveats), \
        plan.caveats
