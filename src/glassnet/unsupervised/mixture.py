"""Gaussian mixture models fitted by expectation-maximisation, in log space.

Each component k has a weight pi_k, a mean mu_k and a covariance Sigma_k ("full": any
symmetric positive definite matrix; "diag": a diagonal one; "spherical": s_k^2 I). The
E-step computes log pi_k + log N(x | mu_k, Sigma_k) through the Cholesky factor of the
precision and normalises with log-sum-exp; the M-step re-estimates pi, mu and Sigma from
the responsibilities, with ``reg_covar`` added to every variance.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from glassnet.unsupervised._checks import (
    as_generator,
    check_data,
    check_features,
    check_fitted,
    check_positive_float,
    check_positive_int,
)

_TYPES = ("full", "diag", "spherical")


def logsumexp(a: np.ndarray, axis: int) -> np.ndarray:
    """log(sum(exp(a))) along ``axis``, shifted by the maximum so nothing overflows."""
    m = np.max(a, axis=axis, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    return np.log(np.sum(np.exp(a - m), axis=axis)) + np.squeeze(m, axis=axis)


def _precision_cholesky(cov: np.ndarray, kind: str) -> np.ndarray:
    """For "full": the upper-triangular U_k with U_k U_k^T = Sigma_k^-1 (K, D, D); for
    "diag"/"spherical": 1 / sqrt(variances). A ValueError when a covariance is singular."""
    if kind == "full":
        d = cov.shape[1]
        out = np.empty_like(cov)
        eye = np.eye(d)
        for k, c in enumerate(cov):
            try:
                low = np.linalg.cholesky(c)
            except np.linalg.LinAlgError:
                raise ValueError(
                    f"GaussianMixture: the covariance of component {k} is singular (not "
                    "positive definite); increase reg_covar or use fewer components"
                ) from None
            out[k] = np.linalg.solve(low, eye).T
        return out
    if np.any(cov <= 0):
        k = int(np.argwhere(cov <= 0)[0][0])
        raise ValueError(f"GaussianMixture: the covariance of component {k} is singular "
                         "(a zero variance); increase reg_covar")
    return 1.0 / np.sqrt(cov)


def _squares(X: np.ndarray, kind: str) -> np.ndarray | None:
    """What the diagonal and spherical steps reuse at every EM iteration: X * X (N, D)
    for "diag", the squared row norms ||x_n||^2 (N,) for "spherical"."""
    if kind == "diag":
        return X * X
    if kind == "spherical":
        return np.einsum("ij,ij->i", X, X)
    return None


def _log_gaussian(X: np.ndarray, means: np.ndarray, prec_chol: np.ndarray,
                  kind: str, xx: np.ndarray | None = None) -> np.ndarray:
    """log N(x_n | mu_k, Sigma_k), shape (N, K); ``xx`` = ``_squares(X, kind)`` when
    already known."""
    n, d = X.shape
    if kind == "full":
        log_det = np.log(np.diagonal(prec_chol, axis1=1, axis2=2)).sum(axis=1)
        out = np.empty((n, means.shape[0]))
        for k, (mu, u) in enumerate(zip(means, prec_chol)):
            y = X @ u - mu @ u
            out[:, k] = np.einsum("ij,ij->i", y, y)
    elif kind == "diag":
        log_det = np.log(prec_chol).sum(axis=1)
        prec = prec_chol**2
        xx = _squares(X, kind) if xx is None else xx
        out = xx @ prec.T - X @ (2 * means * prec).T + ((means**2) * prec).sum(axis=1)
    else:
        log_det = d * np.log(prec_chol)
        prec = prec_chol**2
        xx = _squares(X, kind) if xx is None else xx
        out = (xx[:, None] - X @ (2 * means.T)
               + (means**2).sum(axis=1)) * prec
    np.maximum(out, 0, out=out)
    return -0.5 * (d * np.log(2 * np.pi) + out) + log_det


def _m_step(X: np.ndarray, resp: np.ndarray, kind: str, reg: float,
            xx: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Weights (K,), means (K, D) and covariances from responsibilities (N, K)."""
    nk = resp.sum(axis=0) + 10 * np.finfo(np.float64).eps
    means = (resp.T @ X) / nk[:, None]
    if kind == "full":
        cov = np.empty((len(nk), X.shape[1], X.shape[1]))
        for k in range(len(nk)):
            diff = X - means[k]
            cov[k] = (resp[:, k, None] * diff).T @ diff / nk[k]
            cov[k].flat[:: X.shape[1] + 1] += reg
    else:
        xx = _squares(X, kind) if xx is None else xx
        if kind == "diag":  # E[x^2] - mu^2 per feature
            cov = np.maximum((resp.T @ xx) / nk[:, None] - means**2, 0) + reg
        else:  # the mean over features of the same: (E||x||^2 - ||mu||^2) / D
            var = (resp.T @ xx) / nk - (means**2).sum(axis=1)
            cov = np.maximum(var, 0) / X.shape[1] + reg
    return nk / X.shape[0], means, cov


class GaussianMixture:
    """A mixture of K Gaussians fitted by EM.

    Parameters
    ----------
    n_components : int
    covariance_type : {"full", "diag", "spherical"}
    max_iter : int
        EM iterations per initialisation.
    tol : float
        Stop when the lower bound (the mean log-likelihood per sample) rises by less.
    reg_covar : float
        Added to the variances (the covariances' diagonals) so they stay invertible.
    n_init : int
        Initialisations; the one with the highest final lower bound is kept.
    rng : None, int or numpy.random.Generator
        Randomness of the k-means initialisation (and of ``sample`` when it is given no
        ``rng``): an int seeds a fresh generator at every call, a Generator advances,
        None draws from glassnet's default generator.
    means_init : ndarray (K, D), optional
        Starting means: each sample is first assigned to the nearest one (hard
        responsibilities), which also gives the starting weights and covariances.

    Attributes
    ----------
    weights_, means_, covariances_, precisions_cholesky_
    lower_bound_ : float
        Mean log-likelihood per sample of the final E-step.
    lower_bounds_ : list of float
        The lower bound after every EM iteration of the kept run (never decreasing).
    converged_ : bool
    n_iter_ : int
    init_params_ : tuple
        (weights, means, covariances) the last run started from.

    Conventions: float64 throughout. Without ``means_init`` a one-run glassnet
    :class:`~glassnet.unsupervised.KMeans` gives the starting hard responsibilities.
    Equivalent: ``sklearn.mixture.GaussianMixture(n_components, covariance_type=...,
    tol=tol, reg_covar=reg_covar, max_iter=max_iter, n_init=n_init, means_init=...)``;
    scikit-learn starts its covariances from its own k-means labels even when given
    ``means_init``, so the two can take slightly different EM paths.

    >>> import numpy as np
    >>> X = np.r_[np.random.default_rng(0).normal(-5, 1, (200, 1)),
    ...           np.random.default_rng(1).normal(5, 1, (200, 1))]
    >>> gm = GaussianMixture(2, rng=0).fit(X)
    >>> np.round(np.sort(gm.means_[:, 0]))
    array([-5.,  5.])
    """

    def __init__(self, n_components: int, covariance_type: str = "full", max_iter: int = 100,
                 tol: float = 1e-3, reg_covar: float = 1e-6, n_init: int = 1,
                 rng: Any = None, means_init: Any = None) -> None:
        who = "GaussianMixture"
        self.n_components = check_positive_int(n_components, "n_components", who)
        if covariance_type not in _TYPES:
            raise ValueError(f"{who}: covariance_type must be one of {_TYPES}, got "
                             f"{covariance_type!r}")
        self.covariance_type = covariance_type
        self.max_iter = check_positive_int(max_iter, "max_iter", who)
        self.tol = check_positive_float(tol, "tol", who, allow_zero=True)
        self.reg_covar = check_positive_float(reg_covar, "reg_covar", who, allow_zero=True)
        self.n_init = check_positive_int(n_init, "n_init", who)
        as_generator(rng, who)  # a TypeError now for a bad rng, not at fit
        self.rng = rng
        self.means_init = None if means_init is None else check_data(means_init, who,
                                                                     np.float64)
        if self.means_init is not None and self.means_init.shape[0] != self.n_components:
            raise ValueError(f"{who}: means_init has {self.means_init.shape[0]} rows, "
                             f"n_components is {self.n_components}")
        self.means_: np.ndarray | None = None
        self.lower_bounds_: list[float] = []

    # ------------------------------------------------------------------ fitting
    def _start(self, X: np.ndarray, gen: np.random.Generator) -> np.ndarray:
        from glassnet.unsupervised.kmeans import KMeans, _assign

        if self.means_init is not None:
            check_features(self.means_init, X.shape[1], "GaussianMixture means_init")
            labels = _assign(X, np.einsum("ij,ij->i", X, X), self.means_init)[0]
        else:
            labels = KMeans(self.n_components, n_init=1, rng=gen).fit(X).labels_
        resp = np.zeros((X.shape[0], self.n_components))
        resp[np.arange(X.shape[0]), labels] = 1.0
        return resp

    def _set(self, weights: np.ndarray, means: np.ndarray, cov: np.ndarray) -> None:
        self.weights_, self.means_, self.covariances_ = weights, means, cov
        self.precisions_cholesky_ = _precision_cholesky(cov, self.covariance_type)

    def _weighted_log_prob(self, X: np.ndarray, xx: np.ndarray | None = None) -> np.ndarray:
        return (_log_gaussian(X, self.means_, self.precisions_cholesky_, self.covariance_type,
                              xx) + np.log(self.weights_))

    def fit(self, X: Any) -> GaussianMixture:
        """Fit the mixture to the rows of X (N, D) by EM; returns self."""
        X = check_data(X, "GaussianMixture", dtype=np.float64)
        if self.n_components > X.shape[0]:
            raise ValueError(f"GaussianMixture: n_components={self.n_components} is larger "
                             f"than the number of samples ({X.shape[0]})")
        xx = _squares(X, self.covariance_type)
        gen = as_generator(self.rng, "GaussianMixture")
        best = None
        for _ in range(self.n_init):
            resp = self._start(X, gen)
            weights, means, cov = _m_step(X, resp, self.covariance_type, self.reg_covar, xx)
            if self.means_init is not None:
                means = self.means_init.copy()
            self.init_params_ = (weights, means, cov)
            self._set(weights, means, cov)
            bounds: list[float] = []
            converged = False
            for _it in range(self.max_iter):
                wlp = self._weighted_log_prob(X, xx)
                norm = logsumexp(wlp, axis=1)
                bounds.append(float(norm.mean()))
                if len(bounds) > 1 and abs(bounds[-1] - bounds[-2]) < self.tol:
                    converged = True
                    break
                wlp -= norm[:, None]
                self._set(*_m_step(X, np.exp(wlp, out=wlp), self.covariance_type,
                                   self.reg_covar, xx))
            else:
                bounds.append(float(logsumexp(self._weighted_log_prob(X, xx), axis=1).mean()))
                converged = abs(bounds[-1] - bounds[-2]) < self.tol if len(bounds) > 1 \
                    else False
            if best is None or bounds[-1] > best[0]:
                best = (bounds[-1], (self.weights_, self.means_, self.covariances_), bounds,
                        converged)
        self.lower_bound_, params, self.lower_bounds_, self.converged_ = best
        self._set(*params)
        self.n_iter_ = len(self.lower_bounds_) - 1
        return self

    # ------------------------------------------------------------------ using
    def _check(self, X: Any) -> np.ndarray:
        check_fitted(self, "means_")
        X = check_data(X, "GaussianMixture", dtype=np.float64)
        check_features(X, self.means_.shape[1], "GaussianMixture")
        return X

    def score_samples(self, X: Any) -> np.ndarray:
        """log p(x) of each row of X (N,)."""
        return logsumexp(self._weighted_log_prob(self._check(X)), axis=1)

    def score(self, X: Any) -> float:
        """Mean log-likelihood per sample."""
        return float(self.score_samples(X).mean())

    def predict_proba(self, X: Any) -> np.ndarray:
        """Responsibilities p(k | x) (N, K)."""
        wlp = self._weighted_log_prob(self._check(X))
        return np.exp(wlp - logsumexp(wlp, axis=1)[:, None])

    def predict(self, X: Any) -> np.ndarray:
        """The most responsible component of each row (N,)."""
        return self._weighted_log_prob(self._check(X)).argmax(axis=1)

    def fit_predict(self, X: Any) -> np.ndarray:
        """``fit(X)`` and return ``predict(X)``."""
        return self.fit(X).predict(X)

    def sample(self, n_samples: int = 1, rng: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """Draws (n_samples, D) and the component of each (n_samples,)."""
        check_fitted(self, "means_")
        n = check_positive_int(n_samples, "n_samples", "GaussianMixture.sample")
        g = as_generator(self.rng if rng is None else rng, "GaussianMixture.sample")
        comp = np.sort(g.choice(self.n_components, size=n, p=self.weights_))
        z = g.standard_normal((n, self.means_.shape[1]))
        if self.covariance_type == "full":
            low = np.linalg.cholesky(self.covariances_)
            x = np.einsum("nij,nj->ni", low[comp], z)
        elif self.covariance_type == "diag":
            x = z * np.sqrt(self.covariances_[comp])
        else:
            x = z * np.sqrt(self.covariances_[comp])[:, None]
        return x + self.means_[comp], comp

    def n_parameters(self) -> int:
        """Free parameters: K - 1 weights, K D means and the covariances."""
        check_fitted(self, "means_")
        k, d = self.means_.shape
        cov = {"full": k * d * (d + 1) // 2, "diag": k * d, "spherical": k}
        return k - 1 + k * d + cov[self.covariance_type]

    def bic(self, X: Any) -> float:
        """Bayesian information criterion: -2 log L + p log N (lower is better)."""
        X = self._check(X)
        return -2 * self.score(X) * len(X) + self.n_parameters() * np.log(len(X))

    def aic(self, X: Any) -> float:
        """Akaike information criterion: -2 log L + 2 p (lower is better)."""
        X = self._check(X)
        return -2 * self.score(X) * len(X) + 2 * self.n_parameters()
