"""Constants the tests share: the fixture files, a fast config, and where the shared data sets are.

The shared data (real public data sets, for the slow end-to-end checks) is found through one setting, the
environment variable ``LSTMTEXT_SHARED_DATA``; without it, ``../shared/data`` beside the repository.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(__file__).parent / "fixtures"
TINY = FIXTURES / "tiny.csv"
ABSA_WIDE, ABSA_LONG = FIXTURES / "absa_tiny.csv", FIXTURES / "absa_tiny_long.csv"
MULTILABEL = FIXTURES / "multilabel_tiny.csv"
SHARED_DATA = Path(os.environ.get("LSTMTEXT_SHARED_DATA", ROOT.parent / "shared" / "data"))

TINY_OVERRIDES = [
    "data.split_col=\"split\"",
    "vocab.num_words=100",
    "model.embedding_dim=16",
    "model.hidden_size=16",
    "model.embed_dropout=0.0",
    "train.epochs=25",
    "train.batch_size=8",
    "train.lr=0.02",
    "train.eval_batch_size=7",
    "train.calibrate_min_texts=1",  # 6 valid texts: calibrated all the same, as the tests of calibration need
]


def classify_objective(n_classes: int, class_weights=None):
    """The objective of a single-label task with ``n_classes`` classes (what a run builds), for loop tests."""
    from lstmtext.config import Config
    from lstmtext.models import OutputLayout
    from lstmtext.tasks.classify import Classify
    from lstmtext.tasks.objective import LayoutObjective

    task = Classify([str(i) for i in range(n_classes)], Config())
    return LayoutObjective(OutputLayout((n_classes,)), [class_weights], task.monitor_scores)


def classify_task(labels, config=None):
    """A single-label task over ``labels`` (for saving bundles in tests)."""
    from lstmtext.config import Config
    from lstmtext.tasks.classify import Classify

    return Classify(list(labels), config or Config())


def load_labelled(path, data_cfg=None, **kwargs):
    """Read, split and check a single-label file as a run does (``data_cfg``: its columns and split)."""
    from lstmtext.config import Config, DataConfig
    from lstmtext.tasks.classify import Classify

    config = Config(data=data_cfg or DataConfig())
    data = Classify.load(path, config, **kwargs)
    Classify.from_data(data, config)
    return data


class FakePredictor:
    """Fixed probabilities behind a real task, to check the server's records independently of a model.

    ``labels`` a list: a single-label model, or a multi-label one when ``thresholds`` are given (one per label);
    ``labels`` a dict ``{aspect: [classes]}``: an aspect model, ``proba`` then ``{aspect: rows}``.
    """

    def __init__(self, labels, proba, thresholds=None):
        import numpy as np

        from lstmtext.config import build_config

        if isinstance(labels, dict):  # an aspect model: the aspects' probabilities side by side
            from lstmtext.tasks.absa.task import AspectSentiment

            self.task = AspectSentiment(labels, build_config(None, extra={"task": "absa"}))
            proba = np.concatenate([np.asarray(p) for p in proba.values()], 1)
        elif thresholds is not None:
            from lstmtext.tasks.multilabel.task import MultiLabel

            self.task = MultiLabel(labels, build_config(None, extra={"task": "multilabel"}),
                                   {"thresholds": list(thresholds)})
        else:
            self.task = classify_task(labels)
        self.labels, self.proba = labels, proba

    def predict_proba(self, texts):
        import numpy as np

        return np.asarray(self.proba[: len(texts)], dtype=np.float32)

    def proba_and_flags(self, texts):  # every text holds a known word and none was cut
        import numpy as np

        return self.predict_proba(texts), np.ones(len(texts), dtype=np.int8)


def assert_matches_torch(ref, fused, reference, x, lengths, tol: dict):
    """``fused(x, lengths)`` gives torch's layer ``ref``'s outputs and h_n (``reference(ref, x, lengths)`` runs it
    on packed rows) and the same gradients for ``x`` and every parameter, under a loss that uses both outputs
    with weights so every element's gradient differs. Returns torch's outputs."""
    import torch

    x_ref, x_fused = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_r, h_r = reference(ref, x_ref, lengths)
    out_f, h_f = fused(x_fused, lengths)
    torch.testing.assert_close(out_f, out_r, **tol)
    torch.testing.assert_close(h_f, h_r, **tol)
    gen = torch.Generator().manual_seed(2)
    w_out = torch.randn(out_r.shape, generator=gen, dtype=x.dtype)
    w_h = torch.randn(h_r.shape, generator=gen, dtype=x.dtype)
    ((out_r * w_out).sum() + (h_r * w_h).sum()).backward()
    ((out_f * w_out).sum() + (h_f * w_h).sum()).backward()
    torch.testing.assert_close(x_fused.grad, x_ref.grad, **tol)
    ref_params = dict(ref.named_parameters())
    for name, p in fused.named_parameters():
        torch.testing.assert_close(p.grad, ref_params[name].grad, **tol, msg=f"gradient of {name}")
    return out_r.detach()


class Interrupt(Exception):
    """What :func:`interrupting` raises, as a kill after an epoch would stop a run."""


def interrupting(monkeypatch, when):
    """Make the runner's ``fit`` raise :class:`Interrupt` after the epoch record for which ``when(record)`` is true
    (its checkpoint already written); returns a function that puts the real ``fit`` back."""
    import lstmtext.training.loop as trainer

    real_fit = trainer.fit

    def interrupted_fit(*args, **kwargs):
        def stop(record):
            if when(record):
                raise Interrupt
        return real_fit(*args, **{**kwargs, "on_epoch_end": stop})

    monkeypatch.setattr("lstmtext.pipeline.runner.fit", interrupted_fit)
    return lambda: monkeypatch.setattr("lstmtext.pipeline.runner.fit", real_fit)


def ctrl_c_at_call(monkeypatch, module, name, n):
    """Replace ``module.name`` by the real function that raises KeyboardInterrupt on its ``n``-th call (a Ctrl-C in
    the middle of an experiment's ``n``-th run); returns the list of calls, one item each."""
    real, calls = getattr(module, name), []

    def stopped(*args, **kwargs):
        calls.append(1)
        if len(calls) == n:
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, stopped)
    return calls
