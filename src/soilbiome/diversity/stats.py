"""Group tests on a distance matrix: PERMANOVA."""

from __future__ import annotations

import pandas as pd


def permanova(
    distance_matrix: object,
    grouping: pd.Series,
    permutations: int = 999,
    seed: int = 42,
) -> dict:
    """PERMANOVA of a distance matrix by a sample grouping (scikit-bio ``permanova``).

    Parameters
    ----------
    distance_matrix : skbio.DistanceMatrix
        Dissimilarities between samples.
    grouping : pandas.Series
        Group per sample ID; samples missing from it or with a missing value are left out
        and reported.
    permutations : int, default 999
        Number of permutations.
    seed : int, default 42
        Seed for the permutations.

    Returns
    -------
    dict
        ``test_statistic`` (pseudo-F), ``p_value``, ``sample_size``, ``number_of_groups``,
        ``permutations``, ``excluded`` (sample -> reason); or ``skipped`` with a reason when
        the test cannot run (fewer than two groups, or every sample in its own group).
    """
    from skbio.stats.distance import permanova as skbio_permanova

    ids = list(distance_matrix.ids)
    group = grouping.reindex(ids)
    missing = group.isna() | (group.astype(str).str.strip() == "")
    excluded = {s: f"no value for '{grouping.name}'" for s in group.index[missing]}
    keep = [s for s in ids if not missing[s]]
    out: dict = {"group_by": str(grouping.name), "excluded": excluded}
    groups = group[keep].astype(str)
    n_groups = groups.nunique()
    if len(keep) < 3 or n_groups < 2 or n_groups == len(keep):
        out["skipped"] = (
            f"needs >= 2 groups with replicates; got {len(keep)} samples in {n_groups} group(s)"
        )
        return out
    dm = distance_matrix.filter(keep)
    # skbio wants a named Series or a list for the grouping (see design.md)
    res = skbio_permanova(
        dm, pd.Series(groups.to_numpy(), index=keep, name=str(grouping.name)),
        permutations=permutations, seed=seed,
    )
    out.update(
        method=str(res["method name"]),
        test_statistic=float(res["test statistic"]),
        test_statistic_name=str(res["test statistic name"]),
        p_value=float(res["p-value"]) if permutations > 0 else None,
        sample_size=int(res["sample size"]),
        number_of_groups=int(res["number of groups"]),
        permutations=int(res["number of permutations"]),
        seed=int(seed),
    )
    return out

