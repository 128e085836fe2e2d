"""Unsupervised learning (lecture section 4: only X is given): clustering with
:class:`KMeans`, density estimation with :class:`GaussianMixture` and
:class:`KernelDensity`, and the scores that compare a clustering with hidden labels
(:func:`purity`, :func:`adjusted_rand_index`).

NumPy only; scikit-learn is the test oracle (``sklearn.cluster.KMeans``,
``sklearn.mixture.GaussianMixture``, ``sklearn.neighbors.KernelDensity``).
"""

from __future__ import annotations

from glassnet.unsupervised.kde import KernelDensity
from glassnet.unsupervised.kmeans import KMeans
from glassnet.unsupervised.metrics import adjusted_rand_index, pca, purity
from glassnet.unsupervised.mixture import GaussianMixture

__all__ = ["GaussianMixture", "KMeans", "KernelDensity", "adjusted_rand_index", "pca",
           "purity"]
