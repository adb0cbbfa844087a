"""Ordination of a distance matrix: principal coordinates (PCoA), keeping the axes used.

Classical scaling (Gower 1966): the squared distances are Gower-centred (``B``) and the
leading eigenpairs of ``B`` give the axes.

Proportion explained, as scikit-bio's ``pcoa`` computes it: each eigenvalue over the sum of
the **positive** eigenvalues (scikit-bio sets eigenvalues within 1e-8 of 0 to 0 and drops the
negative ones, which a non-Euclidean metric such as Bray-Curtis gives, before summing). That
sum needs every eigenvalue, so up to :data:`FULL_SPECTRUM_UP_TO` samples ``B`` is reduced to
tridiagonal form once (LAPACK ``dsytrd``): all eigenvalues come from the tridiagonal matrix
(``O(n^2)``), and only the ``k`` eigenvectors that are written are computed (``dstemr`` on the
tridiagonal matrix, then the ``k`` vectors are multiplied by the Householder reflectors:
``O(n^2 k)``). No ``n x n`` eigenvector matrix is formed. This is the same reduction
``eigh`` starts with; the eigenpairs equal ``eigh``'s to rounding.

Above :data:`FULL_SPECTRUM_UP_TO` samples (``O(n^3)`` becomes the cost of the whole run) the
``k`` leading eigenpairs come from randomized block Krylov iteration with Rayleigh-Ritz
(Halko, Martinsson & Tropp 2011, SIAM Rev. 53:217; Musco & Musco 2015), iterated until every
kept pair's residual ``||B v - l v||`` is below ``1e-12 l_1``; the proportions are then over
the trace of ``B`` (the sum of all eigenvalues, negative ones included: what scikit-bio's
``pcoa`` reports when given ``number_of_dimensions``), and ``diversity.json`` says which
denominator was used. Should the Krylov basis not converge (eigenvalues very close together),
the direct path is taken.

Measured at 2,000 samples (random Bray-Curtis, leading eigenvalues 0.1% apart): the direct
path with one BLAS thread takes 0.7 s of CPU, ARPACK's Lanczos (``eigsh``) 2.2 s and block
Krylov to a residual of ``1e-6`` to ``1e-8`` 10-19 s (CPU times on a shared machine), so the
direct path is the faster one at that size.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from soilbiome.diversity.beta import as_distances
from soilbiome.diversity.common import DiversityError

#: Axes kept by default (the report draws PC1-PC3).
DEFAULT_AXES = 10
#: Up to this many samples every eigenvalue is computed (proportions as scikit-bio).
FULL_SPECTRUM_UP_TO = 5000
#: scikit-bio sets eigenvalues within this distance of 0 to 0 (``numpy.isclose``).
ZERO_EIGENVALUE = 1e-8
#: Denominators of the proportions explained (recorded in ``diversity.json``).
POSITIVE_SUM = "sum of the positive eigenvalues (scikit-bio pcoa)"
TRACE = "trace of the centred matrix (sum of all eigenvalues, negative ones included)"


@dataclass
class PCoAResult:
    """Principal coordinates of a distance matrix.

    Attributes
    ----------
    samples : pandas.DataFrame
        Coordinates, samples x ``PC1..PCk``.
    eigvals : pandas.Series
        Eigenvalue per kept axis.
    proportion_explained : pandas.Series
        Eigenvalue over :attr:`denominator`, per kept axis.
    warnings : list of str
        E.g. negative eigenvalues among the kept axes (non-Euclidean metric).
    denominator : str
        :data:`POSITIVE_SUM` or :data:`TRACE`.
    """

    samples: pd.DataFrame
    eigvals: pd.Series
    proportion_explained: pd.Series
    warnings: list[str]
    denominator: str = POSITIVE_SUM

    def to_skbio(self) -> object:
        """As :class:`skbio.OrdinationResults` (for ``.write(path)`` in its ordination format)."""
        from skbio import OrdinationResults

        return OrdinationResults(
            short_method_name="PCoA", long_method_name="Principal Coordinate Analysis",
            eigvals=self.eigvals, samples=self.samples,
            proportion_explained=self.proportion_explained,
        )


def gower_centred(distance_matrix: object) -> np.ndarray:
    """``-1/2`` times the double-centred squared distances (square, ``n x n``)."""
    dm = as_distances(distance_matrix)
    e = dm.data
    e *= e
    e *= -0.5
    row = e.mean(axis=1)
    e -= row[:, None]
    e -= row[None, :]
    e += row.mean()
    return e


def _tridiagonal(b: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """All eigenvalues of ``b`` and its ``k`` leading eigenpairs (``b`` is overwritten)."""
    from scipy.linalg import eigh_tridiagonal, eigvalsh_tridiagonal, lapack
    from threadpoolctl import threadpool_limits

    n = b.shape[0]
    lwork = int(lapack.dsytrd_lwork(n, lower=1)[0])
    # one BLAS thread: half of dsytrd is matrix-vector products, which OpenBLAS threads
    # slow down (2 threads: 3.6-6.4 s of CPU at 2,000 samples on a shared 2-core machine,
    # 1 thread: 0.7 s)
    with threadpool_limits(limits=1, user_api="blas"):
        packed, diag, off, tau, info = lapack.dsytrd(b, lower=1, lwork=max(lwork, 1),
                                                     overwrite_a=1)
    if info != 0:
        raise DiversityError(f"PCoA: tridiagonal reduction failed (LAPACK info {info})")
    every = eigvalsh_tridiagonal(diag, off)
    vals, vecs = eigh_tridiagonal(diag, off, select="i", select_range=(n - k, n - 1))
    # eigenvectors of b = Q z, Q = H(1) ... H(n-1), H(i) = I - tau_i v v^T, where v is 1 at
    # i + 1 and packed[i + 2:, i] below (dsytrd, lower storage)
    for i in range(n - 2, -1, -1):
        if tau[i] == 0.0:
            continue
        v = packed[i + 1:, i].copy()
        v[0] = 1.0
        part = vecs[i + 1:]
        part -= tau[i] * np.outer(v, v @ part)
    return every, vals, vecs


def _randomized(b: np.ndarray, k: int, seed: int = 0, max_dim: int = 1200,
                tol: float = 1e-12) -> tuple[np.ndarray, np.ndarray] | None:
    """The ``k`` algebraically largest eigenpairs of symmetric ``b`` by randomized block
    Krylov iteration with Rayleigh-Ritz (Halko et al. 2011; Musco & Musco 2015, NeurIPS).

    The basis grows by one block ``B Q_j`` (re-orthogonalised twice against the whole basis)
    per step; every few steps the Ritz pairs of the basis are checked, and the iteration stops
    when every one of the ``k`` has a true residual ``||B v - l v||`` at most ``tol * |l_1|``
    (None when a basis of ``max_dim`` vectors is not enough: the caller then takes the direct
    path).
    Each step is one product of ``B`` with a block of vectors (one pass over ``B``, BLAS 3),
    where single-vector Lanczos needs one pass per vector.
    """
    from scipy.linalg import eigh, qr

    n = b.shape[0]
    width = min(n, max(k + 10, 16))
    q, _ = qr(np.random.default_rng(seed).standard_normal((n, width)), mode="economic")
    basis, images = [q], []
    vals = vecs = None
    while True:
        z = b @ basis[-1]
        images.append(z)
        dim = width * len(basis)
        if len(basis) % 3 == 0 or dim + width > min(n, max_dim):
            kb, bk = np.hstack(basis), np.hstack(images)
            h = kb.T @ bk
            w, u = eigh((h + h.T) / 2)
            top = np.argsort(w)[::-1][:k]
            vals, ut = w[top], u[:, top]
            vecs = kb @ ut
            resid = np.linalg.norm(bk @ ut - vecs * vals, axis=0)
            if resid.max() <= tol * max(abs(vals[0]), 1e-300):
                return vals, vecs
            if dim + width > min(n, max_dim):
                return None
        kb = np.hstack(basis)
        z = z - kb @ (kb.T @ z)
        z -= kb @ (kb.T @ z)
        q, _ = qr(z, mode="economic")
        basis.append(q)


def pcoa_result(distance_matrix: object, axes: int = DEFAULT_AXES) -> PCoAResult:
    """Principal coordinates on the ``axes`` leading eigenvalues.

    Parameters
    ----------
    distance_matrix : Distances or skbio.DistanceMatrix
        At least three samples.
    axes : int, default 10
        Number of axes kept (at most ``n - 1``); axes with non-positive eigenvalues are dropped.

    Returns
    -------
    PCoAResult
    """
    dm = as_distances(distance_matrix)
    n = len(dm.ids)
    if n < 3:
        raise DiversityError("PCoA needs at least 3 non-empty samples")
    k = max(1, min(int(axes), n - 1))
    b = gower_centred(dm)
    found = None
    if n > FULL_SPECTRUM_UP_TO:
        total = float(np.trace(b))
        found = _randomized(b, k)
        denominator = TRACE
    if found is not None:
        vals, vecs = found
    else:  # small enough, or the Krylov basis did not converge: the direct path
        every, vals, vecs = _tridiagonal(b, k)
        denominator = POSITIVE_SUM
        total = float(every[every > ZERO_EIGENVALUE].sum())
    order = np.argsort(vals)[::-1]
    vals, vecs = vals[order], vecs[:, order]
    warnings: list[str] = []
    tol = 1e-10 * max(abs(vals[0]), 1e-300)
    positive = vals > tol
    if not positive.all():
        warnings.append(f"{int((~positive).sum())} of the {k} leading eigenvalues are not "
                        "positive; those axes are left out")
    vals, vecs = vals[positive], vecs[:, positive]
    # eigenvector signs are arbitrary: make each axis' largest coordinate positive
    flip = np.sign(vecs[np.abs(vecs).argmax(axis=0), np.arange(vecs.shape[1])])
    vecs = vecs * np.where(flip == 0, 1.0, flip)
    names = [f"PC{i + 1}" for i in range(len(vals))]
    coords = pd.DataFrame(vecs * np.sqrt(vals), index=pd.Index(list(dm.ids), name="sample"),
                          columns=names)
    eig = pd.Series(vals, index=names)
    return PCoAResult(coords, eig, eig / total, warnings, denominator)


def pcoa(distance_matrix: object, axes: int = DEFAULT_AXES
         ) -> tuple[pd.DataFrame, pd.Series, list[str]]:
    """Principal coordinates of a distance matrix (see :func:`pcoa_result`).

    Returns
    -------
    pandas.DataFrame
        Coordinates, samples x ``PC1..PCk``.
    pandas.Series
        Proportion of variance explained per axis.
    list of str
        Warnings.
    """
    res = pcoa_result(distance_matrix, axes)
    return res.samples, res.proportion_explained, res.warnings
