"""The learning tasks of the ML harness: data made here or shipped with scikit-learn.

* ``digits`` -- scikit-learn's handwritten digits (1797 images of 8 x 8 pixels, ten
  classes; ``sklearn.datasets.load_digits``, installed with the package, no download).
  Each image is cut into ``(8 / patch)^2`` patches of ``patch x patch`` pixels, one token
  each, pixel values scaled to [0, 1].
* ``recall`` -- associative recall, generated: a sequence of ``length - 1`` (key, value)
  pair tokens with distinct keys, then a query token holding one of the keys; the label
  is the value paired with it. Solving it needs content-based attention from the query
  to the pair holding its key, wherever that pair sits.

Both come as :class:`Split` s (train, validation, test) fixed by the seed.
"""

from __future__ import annotations

from dataclasses import dataclass
from numbers import Integral

import numpy as np

from neuroattn.exceptions import ValidationError

__all__ = ["Split", "TaskData", "TASKS", "digits", "associative_recall", "load_task",
           "check_seed"]

#: the tasks :func:`load_task` knows
TASKS = ("digits", "recall")


def check_seed(seed, where: str) -> int:
    """``seed`` as an int >= 0, or ValidationError naming ``where``."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, Integral) or seed < 0:
        raise ValidationError(f"{where}: must be an int >= 0 (got {seed!r})")
    return int(seed)


def _check_int(value, where: str, minimum: int, maximum: int | None = None) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, Integral) or \
            value < minimum or (maximum is not None and value > maximum):
        span = f">= {minimum}" if maximum is None else f"in [{minimum}, {maximum}]"
        raise ValidationError(f"{where}: must be an int {span} (got {value!r})")
    return int(value)


@dataclass(frozen=True)
class Split:
    """One part of a data set.

    Attributes
    ----------
    x : ndarray
        Inputs: float32 ``[n, tokens, features]`` (digits) or int64 ``[n, tokens, 2]``
        (recall: key and value ids; the query token's value id is ``n_values``, "none").
    y : ndarray of int64, shape [n]
        Class labels.
    info : ndarray of int64, shape [n]
        Per-sample side information: for recall, the position of the pair that holds
        the answer counted back from the query (1 = the token just before it); -1 for
        digits.
    """

    x: np.ndarray
    y: np.ndarray
    info: np.ndarray

    def __len__(self) -> int:
        return len(self.y)


@dataclass(frozen=True)
class TaskData:
    """A task's three splits and what a model needs to know about its inputs.

    Attributes
    ----------
    name : str
    train, val, test : Split
    n_classes : int
    tokens : int
        Sequence length the model sees.
    kind : str
        ``'patches'`` (real features per token) or ``'pairs'`` (key/value ids).
    features : int
        Features per token (patches) or the number of key ids (pairs).
    n_values : int
        Number of value ids (pairs; 0 for patches).
    """

    name: str
    train: Split
    val: Split
    test: Split
    n_classes: int
    tokens: int
    kind: str
    features: int
    n_values: int = 0


def _split_indices(n: int, seed: int, fractions=(0.6, 0.2)) -> tuple:
    """Shuffled index sets (train, val, test) with the given train and val fractions."""
    order = np.random.default_rng([seed, 2020]).permutation(n)
    n_train = int(round(fractions[0] * n))
    n_val = int(round(fractions[1] * n))
    return order[:n_train], order[n_train:n_train + n_val], order[n_train + n_val:]


def digits(seed: int = 0, patch: int = 4) -> TaskData:
    """scikit-learn's 8 x 8 digits as patch tokens; 60/20/20 % splits fixed by ``seed``.

    Parameters
    ----------
    seed : int
        Fixes the split (the same seed, the same split, on every machine).
    patch : int
        Patch side in pixels (1, 2, 4 or 8): ``(8 / patch)^2`` tokens of ``patch^2``
        features (default 4: 4 tokens of 16 pixels).

    Examples
    --------
    >>> data = digits(seed=0)
    >>> data.train.x.shape, len(data.val), len(data.test), data.n_classes
    ((1078, 4, 16), 359, 360, 10)
    """
    from sklearn.datasets import load_digits

    seed = check_seed(seed, "digits.seed")
    if patch not in (1, 2, 4, 8) or isinstance(patch, bool):
        raise ValidationError(f"digits.patch: must be 1, 2, 4 or 8 pixels (got {patch!r})")
    raw = load_digits()
    images = (raw.images / 16.0).astype(np.float32)          # pixel values 0..16 -> [0, 1]
    g = 8 // patch
    tokens = images.reshape(-1, g, patch, g, patch).transpose(0, 1, 3, 2, 4)
    tokens = tokens.reshape(len(images), g * g, patch * patch)
    labels = raw.target.astype(np.int64)
    parts = [Split(np.ascontiguousarray(tokens[i]), labels[i], np.full(len(i), -1, np.int64))
             for i in _split_indices(len(labels), seed)]
    return TaskData("digits", *parts, n_classes=10, tokens=g * g, kind="patches",
                    features=patch * patch)


def _recall_split(n: int, length: int, n_keys: int, n_values: int,
                  rng: np.random.Generator, near: int = 0, near_fraction: float = 0.0
                  ) -> Split:
    pairs = length - 1
    keys = np.argsort(rng.random((n, n_keys)), axis=1)[:, :pairs]       # distinct per row
    values = rng.integers(0, n_values, (n, pairs))
    # distance of the answer's pair from the query: 1..near with probability
    # near_fraction, else near+1..pairs (uniform within each band)
    is_near = rng.random(n) < near_fraction
    distance = np.where(is_near, 1 + rng.integers(0, max(near, 1), n),
                        near + 1 + rng.integers(0, pairs - near, n))
    target = pairs - distance
    x = np.empty((n, length, 2), np.int64)
    x[:, :pairs, 0], x[:, :pairs, 1] = keys, values
    x[:, -1, 0] = keys[np.arange(n), target]
    x[:, -1, 1] = n_values                                               # "no value"
    return Split(x, values[np.arange(n), target], (pairs - target).astype(np.int64))


def associative_recall(seed: int = 0, length: int = 128, n_train: int = 8000,
                       n_val: int = 1000, n_test: int = 1000, n_keys: int | None = None,
                       n_values: int = 16, near: int = 0,
                       near_fraction: float = 0.0) -> TaskData:
    """Generated associative recall: find the query's key among ``length - 1`` pairs.

    The answer's pair lies at distance ``d`` from the query (``d = 1``: the token just
    before it; stored in ``Split.info``). With ``near_fraction = 0`` (the default) d is
    uniform over ``1 .. length - 1``. With ``near >= 1`` and ``near_fraction = p``, d is
    uniform over ``1 .. near`` with probability p ("near" queries) and uniform over
    ``near + 1 .. length - 1`` otherwise ("far"), in every split: set ``near`` to a local
    attention's window and both kinds of query occur in training and in the test.

    Parameters
    ----------
    seed : int
        Fixes every split (independent streams per split).
    length : int
        Tokens per sequence, 8 to 1024 (the issue's range is 64-256): ``length - 1``
        pairs, then the query.
    n_train, n_val, n_test : int
        Sequences per split.
    n_keys : int, optional
        Key vocabulary (default ``2 length``; at least ``length - 1``).
    n_values : int
        Value vocabulary = classes (chance ``1 / n_values``).
    near : int
        Width of the "near" band of answer distances, 0 to ``length - 2`` tokens.
    near_fraction : float
        Probability in [0, 1] that a sequence's answer lies in the near band (needs
        ``near >= 1`` when > 0).

    Examples
    --------
    >>> data = associative_recall(seed=0, length=16, n_train=4, n_val=2, n_test=2)
    >>> x, y = data.train.x[0], data.train.y[0]
    >>> bool(x[-1, 0] in x[:-1, 0]), int(y) == int(x[:-1][x[:-1, 0] == x[-1, 0], 1][0])
    (True, True)
    """
    seed = check_seed(seed, "associative_recall.seed")
    length = _check_int(length, "associative_recall.length", 8, 1024)
    sizes = [_check_int(v, f"associative_recall.{name}", 1) for name, v in
             (("n_train", n_train), ("n_val", n_val), ("n_test", n_test))]
    n_keys = 2 * length if n_keys is None else _check_int(n_keys, "associative_recall.n_keys",
                                                          length - 1)
    n_values = _check_int(n_values, "associative_recall.n_values", 2)
    near = _check_int(near, "associative_recall.near", 0, length - 2)
    if isinstance(near_fraction, (bool, np.bool_)) or \
            not isinstance(near_fraction, (Integral, float)) or not 0 <= near_fraction <= 1:
        raise ValidationError(f"associative_recall.near_fraction: must be a number in "
                              f"[0, 1] (got {near_fraction!r})")
    if near_fraction > 0 and near == 0:
        raise ValidationError(f"associative_recall.near: must be >= 1 tokens when "
                              f"near_fraction > 0 (got near=0, near_fraction="
                              f"{near_fraction!r})")
    parts = [_recall_split(n, length, n_keys, n_values, np.random.default_rng([seed, 3030, i]),
                           near, float(near_fraction))
             for i, n in enumerate(sizes)]
    return TaskData("recall", *parts, n_classes=n_values, tokens=length, kind="pairs",
                    features=n_keys, n_values=n_values)


def load_task(name: str, seed: int = 0, **options) -> TaskData:
    """The task ``name`` (one of :data:`TASKS`) with splits fixed by ``seed``."""
    if name == "digits":
        return digits(seed, **options)
    if name == "recall":
        return associative_recall(seed, **options)
    raise ValidationError(f"task: must be one of {list(TASKS)} (got {name!r})")
