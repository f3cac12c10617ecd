"""Which words pushed a prediction, for every model: occlusion by deletion.

For a text of T tokens the model reads the text and the T texts with one token left out, all in one batch;
a token's score for a target (the predicted class, an aspect's predicted label, a chosen label) is the
target's probability with the whole text minus its probability without that token. Positive: the token
pushed towards the target; negative: against it.

Why occlusion and not integrated gradients: it asks the model itself, so it is exact for every architecture,
pooling, wrapper and head (the n-gram bag adds logits from discrete id lookups that gradients with respect to
embeddings never see; an ensemble averages probabilities, not logits), it needs no baseline input, and its
cost is T + 1 texts in one forward batch, less where the copies share what the left-out token cannot change
(single-layer LSTMs: the states before it forward and after it in reverse; TextCNNs: every window not across
it; :func:`deletion_logits`, measured in ``benchmarks/explain_speed.py``). Its limit: tokens that only matter
together (a negation and its verb) share the effect less clearly than one at a time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch

from lstmtext.data.arrays import text_list
from lstmtext.encoding.batching import predict_logits
from lstmtext.encoding.vocab import UNK_ID
from lstmtext.errors import ConfigError, DataError
from lstmtext.inference.bundle import Bundle
from lstmtext.tasks.prediction import ExplainedOutput

METHOD = "occlusion"
#: What a word the model does not know is shown with (``explain``'s table and plots, the report).
UNK_MARK = " (unk)"


@dataclass
class TargetScores:
    """The scores of every token for one target: ``name`` (e.g. ``negative`` or ``service=neg``), its probability,
    and a ``note`` on why this target is explained when it is not the prediction (an aspect model that finds no
    aspect explains the closest one)."""

    name: str
    probability: float
    scores: list[float]
    note: str = ""


@dataclass
class Explanation:
    """A text, the tokens the model read, and per target each token's effect on the target's probability."""

    text: str
    cleaned: str
    tokens: list[str]
    targets: list[TargetScores] = field(default_factory=list)
    method: str = METHOD
    unknown: list[bool] = field(default_factory=list)
    """Per token: the model does not know the word (its display name in ``tokens`` ends with ``(unk)``)."""

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready form (what ``POST /explain`` answers): ``tokens`` are the words as read, ``unknown`` flags
        those the model does not know (a client gets each word as it is, to find in the cleaned text); a ``note``
        says when the model read only part of the text (longer than ``vocab.max_len``)."""
        words = len(self.cleaned.split())
        unknown = self.unknown or [False] * len(self.tokens)
        notes = [f"the model read {len(self.tokens)} of the text's {words:,} words (vocab.max_len); the others have "
                 "no score"] if words > len(self.tokens) else []
        if unknown and all(unknown):  # as /predict flags it (no_known_word)
            notes.append("the model knows none of the words it read: it answers its guess for a text of unknown "
                         "words, and the scores say little")
        note = {"note": "; ".join(notes)} if notes else {}
        tokens = [t.removesuffix(UNK_MARK) if unk else t for t, unk in zip(self.tokens, unknown)]
        return {"text": self.text, "cleaned": self.cleaned, "tokens": tokens, "unknown": unknown,
                "method": self.method,
                "targets": [{"target": t.name, "probability": t.probability, "scores": t.scores,
                             **({"note": t.note} if t.note else {})} for t in self.targets],
                **note}

    def top(self, target: int = 0, n: int = 3) -> list[tuple[str, float]]:
        """The ``n`` tokens that pushed target ``target`` most, with their scores."""
        scores = self.targets[target].scores
        order = np.argsort(-np.asarray(scores), kind="stable")[:n]
        return [(self.tokens[i], scores[i]) for i in order if scores[i] > 0]


def read_as(cleaned: str, n_tokens: int, escape: Callable[[str], str] = str) -> str:
    """The cleaned text as ``explain`` shows it: cut at 300 characters, and saying when the model read only
    ``n_tokens`` of its words (a text longer than ``vocab.max_len``): the words it never saw have no score."""
    words = len(cleaned.split())
    shown = cleaned if len(cleaned) <= 300 else cleaned[:300] + "\u2026"
    read = f"{n_tokens} token(s)" if words <= n_tokens else \
        f"{n_tokens} of its {words:,} words read (vocab.max_len; the others have no score)"
    return f"{escape(repr(shown))} \u2192 {read}"


def read_tokens(bundle: Bundle, text: str) -> tuple[str, list[str], list[int]]:
    """The cleaned text, one display name per token the model reads, and their ids (as the encoder truncates)."""
    encoder = bundle.encoder
    cleaned = encoder.pipeline(text)
    words = cleaned.split()
    ids = encoder.encode_tokens(words)
    if not words:  # an empty text is read as a single <unk>
        return cleaned, ["<unk>"], ids
    words = words[-len(ids):] if encoder.truncating == "pre" else words[: len(ids)]
    return cleaned, [w if i != UNK_ID else w + UNK_MARK for w, i in zip(words, ids)], ids


def tokens_to_explain(bundle: Bundle, text: str) -> tuple[str, list[str], list[int]]:
    """:func:`read_tokens` of a text there is something to explain in: every explanation (occlusion, the gate view)
    asks this, so that neither weighs a made-up ``<unk>``.

    Raises:
        ConfigError: For an empty text, or one that cleans to nothing.
    """
    if not text.strip():
        raise ConfigError("explain: the text is empty. Give the text whose prediction to explain.")
    cleaned, tokens, ids = read_tokens(bundle, text)
    if not cleaned.split():
        raise ConfigError(f"explain: {text!r} cleans to nothing with {', '.join(bundle.encoder.pipeline.steps)}; "
                          "there are no words to weigh. Give a text with words the model reads.")
    return cleaned, tokens, ids


def deletion_logits(model: torch.nn.Module, ids: list[int], batch_size: int = 512) -> torch.Tensor:
    """Logits ``(T + 1, K)`` of the text ``ids`` (row 0) and of each copy without token i (row i + 1).

    A model with ``deletion_logits`` (single-layer LSTMs and TextCNNs, their aspect heads, seed ensembles and
    n-gram bags)
    computes only what a left-out token changes (:mod:`lstmtext.models.deletions`,
    :meth:`~lstmtext.models.cnn.TextCNN.deletion_encode`); any other, or one that declines (a text too long for
    the memory budget), reads the T + 1 texts in same-length batches. Both give the same numbers to rounding.
    """
    shared = getattr(model, "deletion_logits", None)
    if shared is not None and len(ids) > 1:
        model.eval()
        with torch.no_grad():
            logits = shared(torch.tensor(ids, dtype=torch.int64))
        if logits is not None:
            return logits
    variants = [ids] + [ids[:i] + ids[i + 1:] or [UNK_ID] for i in range(len(ids))]
    return predict_logits(model, variants, batch_size, same_length=True)


def explain_texts(bundle: Bundle, texts: list[str], batch_size: int = 512,
                  outputs: list[list[ExplainedOutput]] | None = None) -> list[Explanation]:
    """Occlusion scores of each text's predicted targets (see the module doc), or with ``outputs`` of the given
    targets of each text (e.g. a label the model missed).

    Args:
        bundle: A loaded model (:func:`~lstmtext.inference.bundle.load_bundle`).
        texts: Raw texts, a list of strings.
        batch_size: Texts per forward pass where the copies are read as texts.
        outputs: Per text, the targets to explain (default: its predicted ones).

    Raises:
        TypeError: If ``bundle`` is not a loaded Bundle (a path: load it first).
        DataError: If ``texts`` is one string rather than a list of them, or holds something not a string.
        ConfigError: For an empty text, or one that cleans to nothing.
    """
    if not isinstance(bundle, Bundle):
        raise TypeError(f"explain_texts() takes a loaded Bundle, not {type(bundle).__name__} {str(bundle)!r}. For a saved "
                        "model's folder: explain_texts(load_bundle(path), texts) (lstmtext.inference.bundle).")
    texts = text_list(texts, "texts")  # one string was explained character by character
    bad = next((i for i, t in enumerate(texts) if not isinstance(t, str)), None)
    if bad is not None:
        raise DataError(f"texts[{bad}] is {texts[bad]!r}, not a string: give every text to explain as a string.")
    out = []
    for n, text in enumerate(texts):
        cleaned, tokens, ids = tokens_to_explain(bundle, text)
        proba = bundle.task.probabilities(deletion_logits(bundle.model, ids, batch_size))
        targets = [ExplainedOutput(*t) for t in outputs[n]] if outputs is not None else \
            bundle.task.explained_outputs(bundle.task.predictions(proba[:1])[0])  # (name, column) pairs too
        out.append(Explanation(text, cleaned, tokens, [
            TargetScores(t.name, float(proba[0, t.column]), [float(v) for v in proba[0, t.column] - proba[1:, t.column]],
                         t.note) for t in targets], unknown=[i == UNK_ID for i in ids]))
    return out


def attribution_report(ex: Explanation, source: str) -> list[Any]:
    """What ``lstmtext explain MODEL TEXT`` prints for any model: the prediction and each token's push."""
    from rich.markup import escape
    from rich.table import Table

    def cell(v: float) -> str:
        colour = "green" if v > 0.005 else "red" if v < -0.005 else "dim"
        return f"[{colour}]{v:+.3f}[/]"

    lines: list[Any] = [
        f"[bold]{METHOD}[/] from {source}: each token's score is the target's probability with the text minus "
        "without that token (+ pushed towards it, - against it)",
        f"cleaned: {read_as(ex.cleaned, len(ex.tokens), escape)}"]
    lines += [f"target [bold]{escape(t.name)}[/] ({t.probability:.3f}{'; ' + escape(t.note) if t.note else ''}); pushed by: "
              + (", ".join(f"{escape(w)} ({s:+.3f})" for w, s in ex.top(i)) or "no token on its own")
              for i, t in enumerate(ex.targets)]
    table = Table(title="Which tokens pushed the prediction", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("token")
    for t in ex.targets:
        table.add_column(escape(t.name), justify="right")
    for i, token in enumerate(ex.tokens):
        table.add_row(str(i), escape(token), *(cell(t.scores[i]) for t in ex.targets))
    return [*lines, table]


def plot_title(name: str, probability: float, note: str = "", width: int = 40) -> str:
    """A target's panel title, wrapped to the panel's width: an aspect's "(no aspect is mentioned; the closest
    one)" ran past the panel into the next one's title."""
    import textwrap

    return "\n".join(textwrap.wrap(f"{name} ({probability:.2f}{'; ' + note if note else ''})", width,
                                  break_long_words=False))


def plot_attributions(ex: Explanation, path: Any) -> Any:
    """Horizontal bars of every token's score for each target, written atomically to a PNG."""
    from pathlib import Path

    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    from lstmtext.reports import plots  # noqa: F401  (the Agg backend before pyplot)
    from lstmtext.utils.atomic import atomic_path

    n = len(ex.targets)
    fig, axes = plt.subplots(1, n, figsize=(3.6 * n + 1.5, 0.32 * len(ex.tokens) + 1.4), squeeze=False, sharey=True)
    for ax, t in zip(axes[0], ex.targets):
        colours = ["#2a9d5b" if v > 0 else "#c8553d" for v in t.scores]
        ax.barh(range(len(ex.tokens)), t.scores, color=colours)
        ax.axvline(0, color="grey", lw=0.8)
        ax.set_title(plot_title(t.name, t.probability, t.note), fontsize=9)
        ax.set_xlabel("p(with) - p(without)")
        ax.xaxis.set_major_locator(MaxNLocator(nbins=4))  # 7 ticks like -0.025 ran into each other in 3.6 inches
    axes[0][0].set_yticks(range(len(ex.tokens)), ex.tokens)
    axes[0][0].invert_yaxis()
    fig.tight_layout()
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path
