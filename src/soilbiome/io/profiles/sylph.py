"""sylph ``profile`` output (TSV, one row per genome per sample) -> standard profiles.

Columns (sylph 0.5+; ``kmers_reassigned`` since 0.6, ``True_cov`` instead of ``Eff_cov`` with
``-u``): ``Sample_file  Genome_file  Taxonomic_abundance  Sequence_abundance  Adjusted_ANI
Eff_cov|True_cov  ANI_5-95_percentile  Eff_lambda  Lambda_5-95_percentile  Median_cov
Mean_cov_geq1  Containment_ind  Naive_ANI  [kmers_reassigned]  Contig_name``. One file may hold
several samples. The value kept per genome is the **sequence abundance** (share of the sample's
reads, as a fraction of 1): with ``sylph profile -u`` those shares sum to the part of the sample
the database explains and the rest is the sample's ``unclassified`` share; without ``-u`` they
sum to 100 % and nothing is known about the unexplained part. Taxonomic abundances (coverage
normalised) are checked (they sum to 100 per sample) but not stored: they describe cells, not
reads, and stay in the TSV. Genomes are keyed by their ``Genome_file`` as written.
sylph-tax's per-sample files (``.sylphmpa``) are read too, by :mod:`.sylph_tax`.
"""

from __future__ import annotations

from pathlib import Path

from soilbiome.io.profiles.model import (
    RELATIVE,
    Profile,
    ProfileError,
    numbered_lines,
    parse_number,
)

FIRST = ("Sample_file", "Genome_file", "Taxonomic_abundance", "Sequence_abundance",
         "Adjusted_ANI")
COVERAGE = ("Eff_cov", "True_cov")
#: Slack on sums of percentages printed with four decimals.
_TOLERANCE = 0.5


def sample_name(sample_file: str) -> str:
    """Sample ID from sylph's ``Sample_file``: its file name up to the first dot."""
    return sample_file.rsplit("/", 1)[-1].split(".", 1)[0] or sample_file


def read_sylph_samples(path: Path) -> list[Profile]:
    """Read every sample of a sylph profile TSV, checked; a sylph-tax ``.sylphmpa`` file
    (first line ``#SampleID``) is read by :func:`soilbiome.io.profiles.sylph_tax.read_sylph_tax`.

    Raises
    ------
    ProfileError
        Header, column count, numbers (abundances 0-100, ANI 0-100), a genome listed twice for
        one sample, abundances that do not add up.
    """
    from soilbiome.io.profiles.sylph_tax import is_sylph_tax, read_sylph_tax

    if is_sylph_tax(path):
        return read_sylph_tax(path)
    header: list[str] | None = None
    by_sample: dict[str, Profile] = {}
    taxonomic: dict[str, float] = {}
    first_line: dict[str, int] = {}
    for number, line in numbered_lines(path):
        if not line.strip():
            continue
        fields = line.split("\t")
        if header is None:
            if tuple(fields[:5]) != FIRST or len(fields) < 6 or fields[5] not in COVERAGE:
                raise ProfileError(path, number, "not a sylph profile header (expected "
                                   f"{' '.join(FIRST)} Eff_cov|True_cov ...) nor a sylph-tax "
                                   "file (first line #SampleID)")
            header = fields
            continue
        if len(fields) != len(header):
            raise ProfileError(path, number, f"{len(fields)} columns, the header has "
                               f"{len(header)}")
        row = dict(zip(header, fields, strict=True))
        sample_file, genome = row["Sample_file"].strip(), row["Genome_file"].strip()
        if not sample_file or not genome:
            raise ProfileError(path, number, "empty Sample_file or Genome_file")
        values = {}
        for column in ("Taxonomic_abundance", "Sequence_abundance", "Adjusted_ANI", header[5]):
            values[column] = parse_number(path, number, column, row[column])
        for column in ("Taxonomic_abundance", "Sequence_abundance", "Adjusted_ANI"):
            if values[column] > 100:
                raise ProfileError(path, number, f"column '{column}': {row[column]} is above "
                                   "100 (a percentage)")
        profile = by_sample.get(sample_file)
        if profile is None:
            profile = Profile(sample_name(sample_file), "sylph", path, value_kind=RELATIVE)
            by_sample[sample_file] = profile
            first_line[sample_file] = number
        if genome in profile.values:
            raise ProfileError(path, number, f"genome '{genome}' listed twice for sample "
                               f"'{sample_file}'")
        profile.values[genome] = values["Sequence_abundance"] / 100.0
        profile.names[genome] = row.get("Contig_name", "")
        taxonomic[sample_file] = taxonomic.get(sample_file, 0.0) + values["Taxonomic_abundance"]
    if header is None:
        raise ProfileError(path, None, "empty file (no sylph header)")
    for sample_file, profile in by_sample.items():
        line = first_line[sample_file]
        if abs(taxonomic[sample_file] - 100.0) > _TOLERANCE:
            raise ProfileError(path, line, f"sample '{sample_file}': taxonomic abundances sum "
                               f"to {taxonomic[sample_file]:.2f}, not 100")
        explained = sum(profile.values.values())
        if explained > 1.0 + _TOLERANCE / 100:
            raise ProfileError(path, line, f"sample '{sample_file}': sequence abundances sum "
                               f"to {explained * 100:.2f} %, more than 100")
        profile.unclassified = max(0.0, 1.0 - explained)
    names = [p.sample for p in by_sample.values()]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise ProfileError(path, None, f"two Sample_file values give the same sample ID "
                           f"{', '.join(dupes)}")
    return list(by_sample.values())


def read_sylph(path: Path, sample: str) -> Profile:
    """One-sample form (``--sample-id`` renames it); a file of several samples is refused here
    (``soilbiome import`` reads those with :func:`read_sylph_samples`)."""
    profiles = read_sylph_samples(path)
    if len(profiles) != 1:
        raise ProfileError(path, None, f"holds {len(profiles)} samples, expected one")
    profiles[0].sample = sample
    return profiles[0]
