"""The classic pipeline against a learned one: hand-crafted features and a classifier
vs an MLP on raw pixels (section 5).

Three representations of the same images, each given to the same three classifiers of
scikit-learn, on one split with one seed:

- **pixels**: the raw grey values;
- **HOG** (``skimage.feature.hog``): histograms of oriented gradients in 4x4-pixel
  cells, normalised over overlapping 2x2-cell blocks; the layout of the image is kept;
- **bag of visual words** (BoVW): local descriptors, a vocabulary of visual words by
  k-means over the training images' descriptors (``sklearn.cluster.MiniBatchKMeans``),
  and each image as the histogram of its descriptors' nearest words (square-rooted: the
  Hellinger map). The layout is thrown away. On 28x28 images the keypoint detectors
  find few points (``skimage.feature.ORB`` none at all; ``SIFT`` about 20 per image
  after a 4x upscale, at 13 ms an image), so the descriptors are **dense** by default:
  DAISY descriptors (``skimage.feature.daisy``, SIFT-like histograms of gradient
  orientations on rings around a point) on a 4x4 grid of points. ``descriptor="sift"``
  takes SIFT keypoints of the 4x-upscaled image instead (slow; an image without a
  keypoint gets an empty histogram).

The classifiers: nearest neighbour (1-NN, Euclidean), a linear SVM
(``sklearn.svm.LinearSVC``, one-vs-rest squared hinge) and a random forest. Against
them, glassnet's MLP trained by ``glassnet.fit`` on the raw pixels: the features are
learned. Accuracy on the test images, the classifier's training time and its prediction
time on the test set are measured; the feature extraction is timed apart. Every pipeline
runs with ``jobs`` threads (BLAS, OpenMP and the forest's workers; default 1), so the
times compare the methods, not their parallelism. The 8x8
digits (quick mode) are resized to 28x28 (bicubic) before HOG and DAISY, so both run
with the same settings; the pixel pipelines see the original 64 values.
"""

from __future__ import annotations

import time
import warnings
from typing import Any

import numpy as np

NAME = "handcrafted-vs-learned"
TITLE = "Hand-crafted features (HOG, bag of visual words) + classifiers vs a learned MLP"
SECTION = "5"
ORDER = 1
OPTIONS: dict[str, Any] = {"n_train": 20000, "n_test": 10000, "dataset": "auto",
                           "descriptor": "daisy", "vocabulary": 300, "trees": 100,
                           "svm_c": 0.1, "hidden": "256,128", "epochs": 15, "lr": 0.001,
                           "batch_size": 128, "jobs": 1}
QUICK: dict[str, Any] = {"n_train": 2000, "n_test": 1000, "vocabulary": 100, "trees": 50,
                         "epochs": 40, "batch_size": 64}

FEATURES = ("pixels", "hog", "bovw")
CLASSIFIERS = ("knn", "svm", "forest")
SIDE = 28  # HOG and the local descriptors run on SIDE x SIDE images
UPSCALE = 4  # SIFT keypoints are searched on images upscaled this much


def _classic() -> tuple[Any, Any]:
    """scikit-image's feature module and scikit-learn, or an ImportError naming the
    extra."""
    try:
        import skimage.feature
        import sklearn
    except ImportError:
        raise ImportError(
            "the handcrafted-vs-learned experiment needs scikit-image and scikit-learn: "
            "pip install 'glassnet[classic]'"
        ) from None
    return skimage.feature, sklearn


def _images(X: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Flat rows -> (N, SIDE, SIDE) images, resized (bicubic) when they are smaller."""
    imgs = X.reshape(len(X), *shape[:2]).astype(np.float64)
    if imgs.shape[1:] == (SIDE, SIDE):
        return imgs
    from skimage.transform import resize

    return np.stack([resize(im, (SIDE, SIDE), order=3) for im in imgs])


def hog_features(images: np.ndarray) -> np.ndarray:
    """HOG of each image: 9 orientations, 4x4-pixel cells, 2x2-cell blocks (L2-Hys),
    square-rooted intensities; 1296 numbers for a 28x28 image."""
    from skimage.feature import hog

    return np.stack([hog(im, orientations=9, pixels_per_cell=(4, 4), cells_per_block=(2, 2),
                         transform_sqrt=True) for im in images]).astype(np.float32)


def local_descriptors(images: np.ndarray, kind: str) -> list[np.ndarray]:
    """Each image's local descriptors, (n_i, D): dense DAISY on a 4x4 grid (16 of 104
    numbers) or SIFT keypoints of the 4x-upscaled image (n_i of 128 numbers, possibly 0)."""
    from skimage.feature import SIFT, daisy

    if kind == "daisy":
        return [daisy(im, step=4, radius=6, rings=2, histograms=6, orientations=8)
                .reshape(-1, 104).astype(np.float32) for im in images]
    from skimage.transform import rescale

    out = []
    for im in images:
        sift = SIFT(upsampling=1)
        try:
            sift.detect_and_extract(rescale(im, UPSCALE, order=1))
            out.append(sift.descriptors.astype(np.float32))
        except RuntimeError:  # no keypoint found
            out.append(np.zeros((0, 128), np.float32))
    return out


class BagOfWords:
    """A visual vocabulary (k-means centres of training descriptors) and the encoding of
    an image as the square root of its normalised word histogram."""

    def __init__(self, words: int, seed: int) -> None:
        self.words, self.seed = words, seed

    def fit(self, descriptors: list[np.ndarray], rng: np.random.Generator,
            sample: int = 50000) -> BagOfWords:
        from sklearn.cluster import MiniBatchKMeans

        pool = np.concatenate(descriptors)
        if len(pool) < self.words:
            raise ValueError(f"bag of words: {len(pool)} descriptors for a vocabulary of "
                             f"{self.words} words; lower vocabulary or add images")
        if len(pool) > sample:
            pool = pool[rng.choice(len(pool), size=sample, replace=False)]
        self.kmeans = MiniBatchKMeans(self.words, random_state=self.seed, n_init=1,
                                      batch_size=4096).fit(pool)
        return self

    def encode(self, descriptors: list[np.ndarray]) -> np.ndarray:
        counts = np.array([len(d) for d in descriptors])
        H = np.zeros((len(descriptors), self.words), np.float32)
        if counts.sum():
            words = self.kmeans.predict(np.concatenate(descriptors))
            np.add.at(H, (np.repeat(np.arange(len(descriptors)), counts), words), 1.0)
        return np.sqrt(H / np.maximum(counts, 1)[:, None])


def _classifier(name: str, ctx: Any) -> Any:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.neighbors import KNeighborsClassifier
    from sklearn.svm import LinearSVC

    if name == "knn":
        return KNeighborsClassifier(n_neighbors=1, algorithm="brute")
    if name == "svm":
        return LinearSVC(C=ctx["svm_c"], random_state=ctx.seed)
    return RandomForestClassifier(ctx["trees"], random_state=ctx.seed, n_jobs=ctx["jobs"])


def _hidden(text: str) -> list[int]:
    from glassnet.experiments.representation import _hidden_sizes

    return _hidden_sizes(text, NAME)


def _mlp(data: Any, ctx: Any) -> tuple[float, float, float]:
    """glassnet's MLP on the raw pixels: (accuracy, training s, prediction s)."""
    from glassnet import fit, losses, optim
    from glassnet.nn import MLP
    from glassnet.training import evaluate

    model = MLP(data.X_train.shape[1], _hidden(ctx["hidden"]), data.num_classes,
                generator=ctx.rng)
    t0 = time.perf_counter()
    fit(model, losses.softmax_log_likelihood, optim.Adam(model.parameters(), lr=ctx["lr"]),
        (data.X_train, data.y_train), epochs=ctx["epochs"], batch_size=ctx["batch_size"],
        rng=ctx.rng, verbose=0)
    t1 = time.perf_counter()
    acc = evaluate(model, None, data.X_test, data.y_test)["accuracy"]
    return float(acc), t1 - t0, time.perf_counter() - t1


def compute(ctx: Any) -> dict[str, Any]:
    from glassnet.experiments._threads import limited_threads

    _classic()
    # every pipeline gets the same threads (BLAS and OpenMP): comparable times, and no
    # oversubscription, which makes k-means 20x slower on a busy 2-core machine
    with limited_threads(ctx["jobs"], NAME):
        return _compute(ctx)


def _compute(ctx: Any) -> dict[str, Any]:
    from sklearn.exceptions import ConvergenceWarning

    if ctx["descriptor"] not in ("daisy", "sift"):
        raise ValueError(f"handcrafted-vs-learned: descriptor must be 'daisy' or 'sift', "
                         f"got {ctx['descriptor']!r}")
    for key in ("vocabulary", "trees"):
        if ctx[key] < 1:
            raise ValueError(f"handcrafted-vs-learned: {key} must be >= 1, got {ctx[key]}")
    _hidden(ctx["hidden"])
    data = ctx.image_data(ctx["n_train"], ctx["n_test"], dataset=ctx["dataset"])

    feature_seconds: dict[str, float] = {"pixels": 0.0}
    t0 = time.perf_counter()
    img_train, img_test = _images(data.X_train, data.image_shape), _images(
        data.X_test, data.image_shape)
    resize_seconds = time.perf_counter() - t0
    t0 = time.perf_counter()
    hog_train, hog_test = hog_features(img_train), hog_features(img_test)
    feature_seconds["hog"] = time.perf_counter() - t0 + resize_seconds
    t0 = time.perf_counter()
    desc_train = local_descriptors(img_train, ctx["descriptor"])
    desc_test = local_descriptors(img_test, ctx["descriptor"])
    bag = BagOfWords(ctx["vocabulary"], ctx.seed).fit(desc_train, ctx.rng)
    bovw_train, bovw_test = bag.encode(desc_train), bag.encode(desc_test)
    feature_seconds["bovw"] = time.perf_counter() - t0 + resize_seconds
    per_image = np.array([len(d) for d in desc_train + desc_test])
    features = {"pixels": (data.X_train, data.X_test), "hog": (hog_train, hog_test),
                "bovw": (bovw_train, bovw_test)}

    accuracy: dict[str, float] = {}
    train_s: dict[str, float] = {}
    predict_s: dict[str, float] = {}
    unconverged = []
    for feat in FEATURES:
        A, B = features[feat]
        for clf_name in CLASSIFIERS:
            key = f"{feat}+{clf_name}"
            clf = _classifier(clf_name, ctx)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always", ConvergenceWarning)
                t0 = time.perf_counter()
                clf.fit(A, data.y_train)
                t1 = time.perf_counter()
            pred = clf.predict(B)
            predict_s[key] = time.perf_counter() - t1
            train_s[key] = t1 - t0
            accuracy[key] = float(np.mean(pred == data.y_test))
            if any(issubclass(w.category, ConvergenceWarning) for w in caught):
                unconverged.append(key)
    key = "pixels+mlp"
    accuracy[key], train_s[key], predict_s[key] = _mlp(data, ctx)

    numbers = {
        "dataset": data.name, "n_train": len(data.y_train), "n_test": len(data.y_test),
        "test_accuracy": accuracy, "train_seconds": train_s, "predict_seconds": predict_s,
        "feature_seconds": feature_seconds,
        "feature_dimensions": {f: int(features[f][0].shape[1]) for f in FEATURES},
        "descriptor": ctx["descriptor"],
        "descriptors_per_image": float(per_image.mean()),
        "images_without_descriptors": int((per_image == 0).sum()),
        "svm_unconverged": unconverged,
    }
    _notes(ctx, numbers)
    if ctx.drawing:
        _draw_results(ctx, numbers)
        _draw_features(ctx, data, img_test, bag, desc_test, numbers)
    return numbers


def _notes(ctx: Any, n: dict[str, Any]) -> None:
    acc = n["test_accuracy"]
    best = max(acc, key=acc.get)
    order = ", ".join(f"{k} {v:.1%}" for k, v in sorted(acc.items(), key=lambda kv: -kv[1]))
    dims = n["feature_dimensions"]
    desc = ("dense DAISY descriptors (16 per image)" if n["descriptor"] == "daisy" else
            f"SIFT keypoints of the {UPSCALE}x-upscaled images "
            f"({n['descriptors_per_image']:.1f} per image on average, "
            f"{n['images_without_descriptors']} images without any)")
    ctx.note(
        f"{n['n_train']:,} training and {n['n_test']:,} test images of {n['dataset']}, one "
        f"split and seed for every pipeline. Features: raw pixels ({dims['pixels']} "
        f"values), HOG ({dims['hog']}) and a bag of {dims['bovw']} visual words over "
        f"{desc}. Test accuracy, best first: {order}."
    )
    hog_svm, pix_knn, mlp = acc["hog+svm"], acc["pixels+knn"], acc["pixels+mlp"]
    pixel_rivals = [k for k in acc if k.startswith("pixels+") and k != "pixels+mlp"]
    above = [k for k in acc if acc[k] > mlp]
    bovw_below = [c for c in CLASSIFIERS if acc[f"bovw+{c}"] < acc[f"hog+{c}"]]
    ctx.note(
        f"HOG + linear SVM {'beats' if hog_svm > pix_knn else 'does not beat'} "
        f"nearest neighbour on raw pixels ({hog_svm:.1%} vs {pix_knn:.1%}); with the same "
        f"linear SVM, HOG gives {hog_svm:.1%} and the pixels {acc['pixels+svm']:.1%}. HOG "
        f"is built to ignore small shifts and contrast changes, which makes even a linear "
        f"classifier strong. The bag of words, which forgets where each descriptor was, is "
        f"below HOG with {len(bovw_below)} of the {len(CLASSIFIERS)} classifiers on these "
        f"small centred images. glassnet's MLP on the raw pixels (features learned, "
        f"{ctx['epochs']} epochs) reaches {mlp:.1%}: "
        + ("above every other pipeline" if not above else
           f"{'above' if all(mlp > acc[k] for k in pixel_rivals) else 'not above'} every "
           f"classic classifier on the same pixels, below {', '.join(above)}")
        + f". The best pipeline is {best}."
    )
    ts, ps = n["train_seconds"], n["predict_seconds"]
    slow_train, slow_predict = max(ts, key=ts.get), max(ps, key=ps.get)
    ctx.note(
        "Time (s), training / prediction on the test set, with the features already "
        "extracted: "
        + "; ".join(f"{k} {ts[k]:.2f} / {ps[k]:.2f}" for k in acc)
        + ". Feature extraction for all images: "
        + ", ".join(f"{k} {v:.1f} s" for k, v in n["feature_seconds"].items() if v)
        + f" (the bag of words including its k-means vocabulary). The longest training is "
        f"{slow_train}'s, the longest prediction {slow_predict}'s (nearest neighbour "
        f"trains by storing the data and pays at prediction)."
        + (f" LinearSVC did not converge within its iterations for "
           f"{', '.join(n['svm_unconverged'])}." if n["svm_unconverged"] else "")
    )


def _draw_results(ctx: Any, n: dict[str, Any]) -> None:
    from glassnet.experiments._plot import BLUE, GREEN, VERMILION

    acc, ts, ps = n["test_accuracy"], n["train_seconds"], n["predict_seconds"]
    colours = {"pixels": BLUE, "hog": VERMILION, "bovw": GREEN}
    fig, (ax, bx) = ctx.subplots(1, 2, figsize=(14, 5.4))
    groups = [*CLASSIFIERS, "mlp"]
    width = 0.26
    for i, feat in enumerate(FEATURES):
        xs, ys = [], []
        for g, clf_name in enumerate(groups):
            key = f"{feat}+{clf_name}"
            if key in acc:
                xs.append(g + (i - 1) * width if clf_name != "mlp" else g)
                ys.append(100 * acc[key])
        bars = ax.bar(xs, ys, width, color=colours[feat], label=feat)
        ax.bar_label(bars, fmt="%.1f", fontsize=8, padding=2)
    ax.set_xticks(range(len(groups)),
                  ["nearest\nneighbour", "linear SVM", "random\nforest", "MLP (glassnet)"])
    low = 100 * min(acc.values())
    ax.set(ylabel="test accuracy (%)", ylim=(max(0.0, low - 8), 100),
           title=f"Test accuracy on {n['dataset']} ({n['n_test']:,} test images)")
    ax.legend(title="features", loc="lower right")
    keys = list(acc)
    y = np.arange(len(keys))
    bx.barh(y - 0.2, [ts[k] for k in keys], 0.4, color=BLUE, label="training")
    bx.barh(y + 0.2, [ps[k] for k in keys], 0.4, color=VERMILION,
            label=f"prediction ({n['n_test']:,} images)")
    bx.set_yticks(y, keys)
    bx.invert_yaxis()
    bx.set_xscale("log")
    bx.set(xlabel="seconds (log scale; features extracted beforehand)",
           title=f"Classifier time, {n['n_train']:,} training images")
    bx.legend(loc="upper center", bbox_to_anchor=(0.5, -0.13), ncol=2)
    fig.suptitle("Hand-crafted features + classic classifiers vs a learned MLP "
                 "(lecture section 5)")
    ctx.save(fig, "handcrafted-accuracy")

    fig, ax = ctx.subplots(figsize=(10.5, 0.36 * len(keys) + 1.3))
    ax.set_axis_off()
    rows = [[k, f"{100 * acc[k]:.1f}", f"{ts[k]:.3g}", f"{ps[k]:.3g}",
             f"{n['feature_seconds'][k.split('+')[0]]:.3g}"]
            for k in sorted(keys, key=lambda k: -acc[k])]
    table = ax.table(cellText=rows, colLabels=["feature + classifier", "test accuracy (%)",
                                               "training (s)", "prediction (s)",
                                               "features (s)"],
                     loc="center", cellLoc="center")
    table.auto_set_font_size(False)
    table.set_fontsize(11)
    table.scale(1.0, 1.4)
    for (r, _), cell in table.get_celld().items():
        if r == 0:
            cell.set_text_props(fontweight="bold")
            cell.set_facecolor("#e8e8e8")
    ax.set_title(f"{n['dataset']}: {n['n_train']:,} training / {n['n_test']:,} test "
                 f"images, best first (features: extracting them from all images, "
                 f"k-means included)", fontsize=11)
    ctx.save(fig, "handcrafted-table")


def _draw_features(ctx: Any, data: Any, images: np.ndarray, bag: BagOfWords,
                   descriptors: list[np.ndarray], n: dict[str, Any]) -> None:
    from skimage.feature import hog
    from skimage.transform import rescale

    from glassnet.experiments._plot import GREEN, VERMILION

    picks = [int(np.flatnonzero(data.y_test == c)[0]) for c in np.unique(data.y_test)[:3]]
    fig, axes = ctx.subplots(len(picks), 3, figsize=(11, 3.1 * len(picks)),
                             width_ratios=[1, 1, 2.4], squeeze=False)
    for row, i in enumerate(picks):
        # drawn on the image upscaled 4x with 16-pixel cells: the same cells, visible
        _, vis = hog(rescale(images[i], 4, order=1), orientations=9,
                     pixels_per_cell=(16, 16), cells_per_block=(2, 2), transform_sqrt=True,
                     visualize=True)
        ax = axes[row, 0]
        ax.imshow(images[i], cmap="gray_r")
        if n["descriptor"] == "daisy":  # the 4x4 grid of DAISY centres
            g = np.arange(6, SIDE - 6, 4)
            gx, gy = np.meshgrid(g, g)
            ax.plot(gx.ravel(), gy.ravel(), "o", color=VERMILION, ms=4)
        ax.set_title(data.classes[data.y_test[i]], fontsize=10)
        axes[row, 1].imshow(vis, cmap="gray")
        axes[row, 1].set_title("HOG: orientation histogram\nof each 4x4-pixel cell",
                               fontsize=10)
        for ax in axes[row, :2]:
            ax.set_xticks([])
            ax.set_yticks([])
            ax.grid(False)
        hist = bag.encode([descriptors[i]])[0] ** 2 * max(len(descriptors[i]), 1)
        ax = axes[row, 2]
        ax.bar(np.arange(bag.words), hist, width=1.0, color=GREEN)
        ax.set(xlabel="visual word", ylabel="descriptors",
               title=f"bag of words: {len(descriptors[i])} {n['descriptor'].upper()} "
                     f"descriptors -> {bag.words} words")
        ax.title.set_fontsize(10)
    fig.suptitle("What the hand-crafted features see (test images"
                 + ("; dots: the DAISY descriptors' centres)" if n["descriptor"] == "daisy"
                    else ")"))
    ctx.save(fig, "handcrafted-features")
