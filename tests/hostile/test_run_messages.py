"""``soilbiome run`` shows Nextflow's warnings and a failed task's own error message."""

from __future__ import annotations

from pathlib import Path

from soilbiome.run.runner import failure_summary, nextflow_warnings

NEXTFLOW_FAILURE = """\
WARN: Task runtime metrics are not reported when using macOS without a container engine
ERROR ~ Error executing process > 'AMPLICON:STAMP (1)'

Caused by:
  Process `AMPLICON:STAMP (1)` terminated with an error exit status (1)

Command executed:
  soilbiome stamp unstamped/asv_table.biom --agreement agreement.yaml ...

Command exit status:
  1

Command output:
  (empty)

Work dir:
  {work}

Tip: view the complete command output by changing to the process work dir
"""


def test_failed_task_shows_its_own_error(tmp_path: Path) -> None:
    work = tmp_path / "work" / "ab" / "cdef"
    work.mkdir(parents=True)
    (work / ".command.err").write_text(
        "soilbiome: error: t.biom: agreement a.yaml covers none of its 4 sample(s) "
        "(datasets[].samples.sample_ids lacks X1); not stamping\n")
    text = NEXTFLOW_FAILURE.format(work=work)
    summary = failure_summary(text)
    assert summary.splitlines()[0] == f"task AMPLICON:STAMP (1) failed ({work}):"
    assert "covers none of its 4 sample(s)" in summary
    assert nextflow_warnings(text + text) == [
        "WARN: Task runtime metrics are not reported when using macOS without a container engine"]


def test_start_up_failure_shows_nextflows_error_block() -> None:
    text = "N E X T F L O W\nERROR ~ Start-up checks failed:\nsoilbiome: error: bad sheet\n"
    assert failure_summary(text).splitlines()[:2] == ["Start-up checks failed:",
                                                      "soilbiome: error: bad sheet"]
