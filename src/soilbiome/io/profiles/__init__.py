"""Readers of other profilers' outputs: one module per tool, one :class:`Profile` for all.

Like taxpasta (https://github.com/taxprofiler/taxpasta), every reader validates its tool's
format and returns the same standard profile; the import command turns profiles into one
harmonised BIOM table with :mod:`soilbiome.shotgun.table`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from soilbiome.io.profiler_names import PROFILERS
from soilbiome.io.profiles.bracken import read_bracken
from soilbiome.io.profiles.diamond import read_diamond
from soilbiome.io.profiles.ganon import read_ganon
from soilbiome.io.profiles.kaiju import read_kaiju
from soilbiome.io.profiles.kmcp import read_kmcp
from soilbiome.io.profiles.kraken2 import read_kraken2
from soilbiome.io.profiles.krakenuniq import read_krakenuniq
from soilbiome.io.profiles.megan6 import read_megan6
from soilbiome.io.profiles.metaphlan import read_metaphlan
from soilbiome.io.profiles.model import Profile, ProfileError
from soilbiome.io.profiles.singlem import read_singlem, read_singlem_samples
from soilbiome.io.profiles.sylph import read_sylph, read_sylph_samples


def _centrifuge(path: Path, sample: str) -> Profile:
    """Centrifuge's Kraken-style report (``centrifuge-kreport``)."""
    return read_kraken2(path, sample, profiler="centrifuge")


#: ``--profiler`` name -> reader(path, sample).
READERS: dict[str, Callable[[Path, str], Profile]] = {
    "kraken2": read_kraken2,
    "bracken": read_bracken,
    "metaphlan": read_metaphlan,
    "centrifuge": _centrifuge,
    "kaiju": read_kaiju,
    "ganon": read_ganon,
    "kmcp": read_kmcp,
    "krakenuniq": read_krakenuniq,
    "diamond": read_diamond,
    "megan6": read_megan6,
    "sylph": read_sylph,
    "singlem": read_singlem,
}
#: Readers of formats that hold several samples per file.
MULTI_SAMPLE: dict[str, Callable[[Path], list[Profile]]] = {
    "sylph": read_sylph_samples,
    "singlem": read_singlem_samples,
}
if tuple(READERS) != PROFILERS:  # one list of names, two places: they must agree
    raise RuntimeError("soilbiome.io.profiler_names.PROFILERS does not match READERS")


def sample_from_path(path: Path) -> str:
    """Sample ID from a file name: the name up to its first dot (``S1.kraken2.report.txt``)."""
    return path.name.split(".", 1)[0]


def read_profile(profiler: str, path: str | Path, sample: str | None = None) -> Profile:
    """Read one profiler output file.

    Raises
    ------
    ProfileError
        Naming the file, line and problem.
    """
    path = Path(path)
    if profiler not in READERS:
        raise ProfileError(path, None, f"unknown profiler '{profiler}' (one of "
                           f"{', '.join(PROFILERS)})")
    if not path.is_file():
        raise ProfileError(path, None, "file not found")
    return READERS[profiler](path, sample or sample_from_path(path))


def read_profiles(profiler: str, path: str | Path, sample: str | None = None) -> list[Profile]:
    """Read one profiler output file: every sample it holds (one for most formats).

    ``sample`` renames the file's only sample; a file of several samples keeps the IDs it
    gives and refuses ``sample``.
    """
    path = Path(path)
    if profiler not in MULTI_SAMPLE:
        return [read_profile(profiler, path, sample)]
    if not path.is_file():
        raise ProfileError(path, None, "file not found")
    profiles = MULTI_SAMPLE[profiler](path)
    if sample is not None:
        if len(profiles) != 1:
            raise ProfileError(path, None, f"holds {len(profiles)} samples: --sample-id "
                               "renames only one-sample files")
        profiles[0].sample = sample
    return profiles


__all__ = ["PROFILERS", "READERS", "Profile", "ProfileError", "read_profile", "read_profiles",
           "sample_from_path"]
