"""Training and evaluation of one model on one task (deterministic per seed on CPU)."""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from neuroattn.exceptions import ValidationError
from neuroattn.ml.attention import Cost
from neuroattn.ml.data import Split

__all__ = ["TrainConfig", "Evaluation", "train", "evaluate", "default_device"]


@dataclass(frozen=True)
class TrainConfig:
    """How a model is trained.

    Attributes
    ----------
    epochs : int
        Passes over the training split; the weights of the epoch with the best
        validation accuracy are kept.
    batch_size : int
    lr : float
        AdamW learning rate (cosine decay to 0 over the run).
    weight_decay : float
    target : float, optional
        Early stop: end training after the first epoch whose validation accuracy
        reaches ``target`` (a fraction in (0, 1]).
    patience : int, optional
        Early stop: end training after ``patience`` epochs in a row without a
        validation accuracy at least ``min_delta`` above the best so far (a model
        that has stopped learning, or never started).
    min_delta : float
        Smallest validation gain (fraction) that counts as progress for ``patience``.

    The learning-rate schedule always spans ``epochs``; an early stop ends it sooner.
    Both criteria read the validation split only.
    """

    epochs: int = 40
    batch_size: int = 64
    lr: float = 3e-3
    weight_decay: float = 1e-2
    target: float | None = None
    patience: int | None = None
    min_delta: float = 0.01

    def validate(self) -> None:
        """Raise ValidationError naming the first bad field."""
        for name in ("epochs", "batch_size"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ValidationError(f"TrainConfig.{name}: must be an int >= 1 (got {v!r})")
        for name in ("lr", "weight_decay"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0 or \
                    v == float("inf") or (name == "lr" and v == 0):
                raise ValidationError(f"TrainConfig.{name}: must be a finite number "
                                      f"{'> 0' if name == 'lr' else '>= 0'} (got {v!r})")
        t = self.target
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float))
                              or not 0 < t <= 1):
            raise ValidationError(f"TrainConfig.target: must be None or a validation "
                                  f"accuracy in (0, 1] (got {t!r})")
        p = self.patience
        if p is not None and (isinstance(p, bool) or not isinstance(p, int) or p < 1):
            raise ValidationError(f"TrainConfig.patience: must be None or an int >= 1 "
                                  f"epochs (got {p!r})")
        d = self.min_delta
        if isinstance(d, bool) or not isinstance(d, (int, float)) or not 0 <= d < 1:
            raise ValidationError(f"TrainConfig.min_delta: must be a number in [0, 1) "
                                  f"(got {d!r})")


def default_device() -> torch.device:
    """CUDA when present, else the CPU."""
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def _tensors(split: Split, device):
    x = torch.from_numpy(split.x).to(device)
    return x, torch.from_numpy(split.y).to(device)


@dataclass(frozen=True)
class Evaluation:
    """Accuracy and cost of a model on a split.

    Attributes
    ----------
    accuracy : float
        Fraction correct.
    correct : ndarray of bool, shape [n]
    cost : Cost
        Summed over the split (divide by ``n`` for per sample).
    n : int
    seconds : float
        Wall time of the forward passes that gave the accuracy (without counting).
    """

    accuracy: float
    correct: np.ndarray
    cost: Cost | None
    n: int
    seconds: float


@torch.no_grad()
def evaluate(model: nn.Module, split: Split, seed: int = 0, batch_size: int = 256,
             count: bool = False, device=None) -> Evaluation:
    """Accuracy on ``split`` (and with ``count``, the operations, counted per batch).

    Stochastic layers are reseeded with ``seed`` first, so the same call gives the same
    numbers.
    """
    device = device or next(model.parameters()).device
    model.eval()
    model.reseed(seed)
    x, y = _tensors(split, device)
    correct = []
    t0 = time.perf_counter()
    for i in range(0, len(y), batch_size):
        correct.append((model(x[i:i + batch_size]).argmax(-1) == y[i:i + batch_size]).cpu())
    seconds = time.perf_counter() - t0
    cost = None
    if count:
        model.reseed(seed)
        cost = Cost()
        for i in range(0, len(y), batch_size):
            cost = cost + model.cost(x[i:i + batch_size])
    ok = torch.cat(correct).numpy()
    return Evaluation(float(ok.mean()), ok, cost, len(y), seconds)


def train(model: nn.Module, train_split: Split, val_split: Split, config: TrainConfig,
          seed: int, progress=None, history: list | None = None) -> tuple:
    """Train ``model`` in place; return ``(model, seconds, val_acc, epochs_run)``.

    AdamW with a cosine schedule, cross-entropy, gradient norm clipped at 1; batches
    shuffled by a generator seeded with ``seed``. After each epoch the validation
    accuracy is measured and the best epoch's weights are restored at the end; with
    ``config.target`` or ``config.patience`` training stops early (see
    :class:`TrainConfig`). ``progress``: an object with ``update(n)`` called per epoch
    (a tqdm bar; an early stop advances it by the epochs left out). ``history``: a list
    the validation accuracy of each epoch is appended to.
    """
    config.validate()
    device = next(model.parameters()).device
    x, y = _tensors(train_split, device)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr,
                            weight_decay=config.weight_decay)
    steps = config.epochs * -(-len(y) // config.batch_size)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    loss_fn = nn.CrossEntropyLoss()
    best, best_state, since, mark = -1.0, None, 0, -1.0
    t0 = time.perf_counter()
    epoch = 0
    for epoch in range(1, config.epochs + 1):
        model.train()
        order = torch.randperm(len(y), generator=gen).to(device)
        for i in range(0, len(y), config.batch_size):
            idx = order[i:i + config.batch_size]
            loss = loss_fn(model(x[idx]), y[idx])
            if not torch.isfinite(loss):
                raise ValidationError(f"train: the loss became {float(loss)} (model "
                                      f"{getattr(model, 'attention', '?')}); lower "
                                      f"TrainConfig.lr (got {config.lr})")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            opt.step()
            sched.step()
        acc = evaluate(model, val_split, seed).accuracy
        if history is not None:
            history.append(acc)
        if acc > best:
            best, best_state = acc, copy.deepcopy(model.state_dict())
        if acc >= mark + config.min_delta:      # progress: a new reference level
            since, mark = 0, acc
        else:
            since += 1
        if progress is not None:
            progress.update(1)
        if (config.target is not None and acc >= config.target) or \
                (config.patience is not None and since >= config.patience):
            break
    if progress is not None and epoch < config.epochs:
        progress.update(config.epochs - epoch)
    seconds = time.perf_counter() - t0
    model.load_state_dict(best_state)
    return model, seconds, best, epoch
