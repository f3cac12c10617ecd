"""The gate view of a trained LSTM bundle: per-token gates, cell-state norm and probabilities as it reads a text.

Part of ``lstmtext explain BUNDLE "some text"`` (with :mod:`lstmtext.explain.attributions`, which every model
gets): :func:`explain_text` returns the data (through the NumPy reference,
:func:`lstmtext.explain.reference.examples.trace_tokens`) and :func:`plot_explanation` writes the picture
atomically. Nothing here prints.

Only LSTM bundles (uni- or bidirectional, any depth) with ``pooling = "last"`` can be explained this way:
their prediction after token t is exactly the classifier run on the text cut after t.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.gridspec import GridSpec  # noqa: E402

from lstmtext.errors import ConfigError, OutputExistsError  # noqa: E402
from lstmtext.explain.attributions import read_as, tokens_to_explain  # noqa: E402
from lstmtext.explain.reference.examples import TokenTrace, trace_tokens  # noqa: E402
from lstmtext.inference.bundle import Bundle, load_bundle  # noqa: E402
from lstmtext.utils.atomic import atomic_path  # noqa: E402

GATE_NAMES = {"i": "input gate i", "f": "forget gate f", "a": "candidate g", "o": "output gate o"}
"""Reference gate key -> label in the pictures (``a`` is PyTorch's ``g``)."""
GATE_ORDER = ("i", "f", "a", "o")
"""PyTorch's gate order."""
_ANNOTATE_MAX_TOKENS = 40  # write the values into the heatmap cells up to this many tokens


@dataclass
class TokenExplanation:
    """One text read by one bundle, token by token.

    Attributes:
        text: The raw text.
        cleaned: The text after the bundle's cleaning chain.
        tokens: Display name of each token the model reads: the cleaned word, ``word (unk)`` when out of vocabulary.
        ids: Token ids, (T,).
        labels: Class names, in the order of ``trace.probs``' columns.
        trace: Gates (T, H) and cell state (T, H) of the last layer's forward direction, ||cell|| (T,),
            probabilities after each token (T, C).
        architecture: The bundle's architecture name.
        bidirectional: Whether the LSTM is bidirectional.
        num_layers: Stacked LSTM layers.
    """

    text: str
    cleaned: str
    tokens: list[str]
    ids: list[int]
    labels: list[str]
    trace: TokenTrace
    architecture: str
    bidirectional: bool
    num_layers: int

    @property
    def gate_means(self) -> dict[str, np.ndarray]:
        """Mean activation over hidden units of each gate, gate -> (T,)."""
        return {g: self.trace.gates[g].mean(axis=1) for g in GATE_ORDER}

    @property
    def predicted(self) -> tuple[str, float]:
        """The label and probability after the last token (the bundle's prediction for the whole text)."""
        last = self.trace.probs[-1]
        k = int(np.argmax(last))
        return self.labels[k], float(last[k])

    @property
    def kind(self) -> str:
        """``LSTM`` or ``BiLSTM``, with the depth when stacked."""
        name = "BiLSTM" if self.bidirectional else "LSTM"
        return f"{self.num_layers}-layer {name}" if self.num_layers > 1 else name


def check_explainable(bundle: Bundle) -> None:
    """Raise unless ``bundle`` is an LSTM / BiLSTM classifier with pooling ``last`` and one label set.

    Raises:
        ConfigError: One line naming the bundle's architecture and pooling.
    """
    model, name, where = bundle.model, bundle.config.model.name, bundle.path or "the bundle"
    instead = "Its word attributions cover every model and task: `lstmtext explain MODEL TEXT` without --units."
    layout = bundle.task.layout
    if not (layout.activation == "softmax" and len(layout.sizes) == 1):  # no setting changes this: it is the task's
        what = (f"an aspect model ({len(layout.sizes)} softmax output groups)" if len(layout.sizes) > 1 else
                f"a multi-label model ({layout.total} sigmoid outputs)")
        raise ConfigError(f"explain: {where} is {what}; the gate view reads single-label models only. {instead}")
    if bundle.config.model.ensemble > 1:
        raise ConfigError(f"explain: {where} is an ensemble of {bundle.config.model.ensemble} {name!r} models; the gate "
                          f"view reads one LSTM (--set model.ensemble=1 trains one). {instead}")
    if bundle.config.model.ngram_bag:
        raise ConfigError(f"explain: {where} adds a linear n-gram bag to its {name!r} model "
                          f"(model.ngram_bag={bundle.config.model.ngram_bag}); the gate view reads the recurrent path "
                          f"alone, which is not the whole prediction (--set model.ngram_bag=0 trains one without). "
                          f"{instead}")
    pooling = getattr(model, "pooling", bundle.config.model.pooling)
    rnn = getattr(model, "rnn", None)
    if not (getattr(model, "cell", None) == "lstm" and pooling == "last" and hasattr(rnn, "weight_ih_l0")
            and hasattr(model, "fc")):
        raise ConfigError(f"explain: {where} is a {name!r} model (pooling={pooling}); the gate view reads lstm/bilstm "
                          "models with pooling=last (--set model.name=\"lstm\" --set model.pooling=\"last\" trains "
                          f"one). {instead}")


def explain_text(bundle: Bundle, text: str) -> TokenExplanation:
    """Trace ``text`` through an LSTM bundle token by token.

    Args:
        bundle: A loaded bundle (:func:`lstmtext.inference.bundle.load_bundle`).
        text: The raw text; it is cleaned and encoded as for prediction.

    Raises:
        ConfigError: The bundle is not an LSTM / BiLSTM with pooling ``last``; the text is empty or cleans to nothing.
    """
    check_explainable(bundle)
    model = bundle.model
    cleaned, tokens, ids = tokens_to_explain(bundle, text)
    table = model.embedding.weight.detach().cpu().double().numpy()  # (V, E)
    temperature = float((bundle.task.state.get("temperatures") or [1.0])[0])  # logits / T: the calibrated softmax
    xs = table[np.asarray(ids)]  # (T, E); embedding dropout is off at inference
    trace = trace_tokens(
        model.rnn,
        xs,
        model.fc.weight.detach().cpu().double().numpy() / temperature,  # (C, dirs * H), calibrated as predicted
        model.fc.bias.detach().cpu().double().numpy() / temperature,  # (C,)
    )
    return TokenExplanation(
        text=text,
        cleaned=cleaned,
        tokens=tokens,
        ids=list(ids),
        labels=[str(label) for label in bundle.labels],
        trace=trace,
        architecture=bundle.config.model.name,
        bidirectional=bool(getattr(model.rnn, "bidirectional", False)),
        num_layers=int(getattr(model.rnn, "num_layers", 1)),
    )


def _heatmap(fig, ax, cax, values: np.ndarray, rows: list[str] | None, cmap: str, vmin: float, vmax: float,
             label: str) -> None:
    """Draw ``values`` (rows, T) with a colour bar in ``cax``; write the numbers into small ones.

    ``rows`` names the rows; None keeps matplotlib's numeric ticks (hidden units).
    """
    image = ax.imshow(values, aspect="auto", cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    if rows is not None:
        ax.set_yticks(range(len(rows)), rows)
    ax.set_xticks(range(values.shape[1]), [])
    fig.colorbar(image, cax=cax, label=label)
    if values.shape[0] <= 8 and values.shape[1] <= _ANNOTATE_MAX_TOKENS:
        share = (values - vmin) / (vmax - vmin or 1.0)  # position on the colour scale, 0 .. 1
        dark = np.abs(share - 0.5) > 0.3 if cmap == "RdBu_r" else share > 0.6  # cells that need white text
        for r, t in np.ndindex(values.shape):
            ax.text(t, r, f"{values[r, t]:.2f}", ha="center", va="center", fontsize=7,
                    color="white" if dark[r, t] else "black")


def plot_explanation(explanation: TokenExplanation, path: str | Path, units: bool = False) -> Path:
    """Write the picture: gate heatmap, cell-state norm strip, probabilities after each token.

    Args:
        explanation: From :func:`explain_text`.
        path: The PNG to write (atomically; folders are created).
        units: Draw one heatmap per gate over hidden units instead of one row per gate with the mean.

    Returns:
        ``path``.
    """
    ex, trace = explanation, explanation.trace
    steps = len(ex.tokens)
    hidden = trace.cell.shape[1]
    gate_panels = [(g, trace.gates[g].T) for g in GATE_ORDER] if units else [("mean", None)]
    heights = ([2.2] * 4 if units else [1.6]) + [0.45, 2.4]
    width = float(np.clip(0.5 * steps + 3.5, 8.0, 24.0))
    fig = plt.figure(figsize=(width, sum(heights) + 1.6), layout="constrained")
    grid = GridSpec(len(heights), 2, figure=fig, height_ratios=heights, width_ratios=[1.0, 0.018])
    scope = " (forward direction of the last layer)" if ex.bidirectional or ex.num_layers > 1 else ""
    label, score = ex.predicted
    fig.suptitle(
        f"{ex.kind} reading \u201c{_shorten(ex.text, 90)}\u201d \u2192 {label} ({score:.2f})",
        fontsize=11,
    )
    row = 0
    for gate, values in gate_panels:
        ax = fig.add_subplot(grid[row, 0])
        if values is None:
            means = np.stack([ex.gate_means[g] for g in GATE_ORDER])  # (4, T)
            _heatmap(fig, ax, fig.add_subplot(grid[row, 1]), means, [GATE_NAMES[g] for g in GATE_ORDER],
                     "RdBu_r", -1.0, 1.0, "mean activation")
            ax.set_title(f"Gate activations, mean over the {hidden} hidden units{scope}", fontsize=10, loc="left")
        else:
            low = -1.0 if gate == "a" else 0.0
            _heatmap(fig, ax, fig.add_subplot(grid[row, 1]), values, None, "RdBu_r" if gate == "a" else "viridis",
                     low, 1.0, "activation")
            ax.set_ylabel("hidden unit")
            ax.set_title(f"{GATE_NAMES[gate].capitalize()} per hidden unit{scope}", fontsize=10, loc="left")
        row += 1
    ax = fig.add_subplot(grid[row, 0])
    norm = trace.cell_norm[None, :]  # (1, T)
    _heatmap(fig, ax, fig.add_subplot(grid[row, 1]), norm, ["\u2016c_t\u2016"], "Greens", 0.0,
             float(max(norm.max(), 1e-9)), "")
    ax.set_title("Cell-state norm \u2016c_t\u2016 after each token", fontsize=10, loc="left")
    row += 1
    ax = fig.add_subplot(grid[row, 0])
    positions = np.arange(steps)
    for k, name in enumerate(ex.labels):
        ax.plot(positions, trace.probs[:, k], marker="o", markersize=4, label=name)
    ax.set_xlim(-0.5, steps - 0.5)
    ax.set_ylim(-0.02, 1.02)
    ax.set_ylabel("probability")
    ax.set_xticks(positions, ex.tokens, rotation=45, ha="right", rotation_mode="anchor")
    ax.set_xlabel("token (prediction after reading the text up to here)")
    ax.set_title("Class probabilities after each token", fontsize=10, loc="left")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=min(len(ex.labels), 6), fontsize=8, frameon=False)
    path = Path(path)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    return path


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def explain_bundle(path: str | Path, text: str, out: str | Path | None = None, units: bool = False,
                   overwrite: bool = False) -> TokenExplanation:
    """Load the bundle at ``path``, trace ``text`` and, when ``out`` is given, write the picture there (a file that
    is there already only with ``overwrite``, as ``lstmtext explain --out`` asks for ``--overwrite``).

    Raises:
        BundleError: The bundle cannot be loaded.
        ConfigError: The bundle is not an LSTM / BiLSTM with pooling ``last``.
        OutputExistsError: ``out`` is there and ``overwrite`` is False (checked before any work).
    """
    if out is not None and Path(out).is_dir():  # (overwrite=True then ended in an IsADirectoryError traceback)
        raise OutputExistsError(f"{out} is a folder: give the path of a PNG file to write (in it or elsewhere).")
    if out is not None and Path(out).exists() and not overwrite:
        raise OutputExistsError(f"{out} is already there. Pass overwrite=True to replace it, or choose another file.")
    explanation = explain_text(load_bundle(path), text)
    if out is not None:
        plot_explanation(explanation, out, units=units)
    return explanation


HEADERS = {"i": "input i", "f": "forget f", "a": "cand. g", "o": "output o"}  # gate -> table column


def bundle_report(ex: TokenExplanation, source: str | Path, width: int | None = None) -> list[Any]:
    """What ``lstmtext explain MODEL TEXT`` prints: what was read, the prediction, and a table token by token; two
    tables (the gates, then the prediction as it forms) where one would be wider than ``width`` columns (at 80, three
    classes' headers were cut to ``P(neg…  P(ne…`` and the tokens to ``than…``)."""
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    label, score = ex.predicted
    scope = "the hidden units of the last layer's forward direction" if ex.bidirectional or ex.num_layers > 1 \
        else "the hidden units"
    lines: list[Any] = [
        f"[bold]{ex.kind}[/] (architecture {ex.architecture!r}) from {source}",
        f"cleaned: {read_as(ex.cleaned, len(ex.tokens), escape)}; "
        f"prediction: [bold]{escape(label)}[/] ({score:.3f})",
        f"gates: mean activation over {scope}; P(class): the prediction after reading up to the token"]
    means, probs = ex.gate_means, ex.trace.probs
    gates = [HEADERS[g] for g in GATE_ORDER] + ["\u2016c_t\u2016"]
    classes = [escape(f"P({name})") for name in ex.labels]

    def table(title: str, columns: list[str], gate_cells: bool, prob_cells: bool, cut: int | None = None) -> Table:
        # the numbers never wrap nor shrink (their headers fit whole); a long token folds onto more lines instead
        out = Table(title=title, title_justify="left")
        out.add_column("#", justify="right", no_wrap=True)
        out.add_column("token", overflow="fold")
        for name in columns:
            widest = max(len(line) for line in name.split()) if name in gates else len(name)
            out.add_column(name, justify="right", no_wrap=True, min_width=max(5, widest))
        for t, token in enumerate(ex.tokens):
            token = token[:cut] if cut else token
            best = int(probs[t].argmax())
            row = [f"{means[g][t]:.3f}" for g in GATE_ORDER] + [f"{ex.trace.cell_norm[t]:.3f}"] if gate_cells else []
            if prob_cells:
                row += [f"[bold]{p:.3f}[/]" if k == best else f"{p:.3f}" for k, p in enumerate(probs[t])]
            out.add_row(str(t), escape(token), *row)
        return out

    whole = table("Reading token by token", gates + classes, True, True)
    # split where the numbers do not fit beside a token of 12 characters (a longer one folds; one of 40 had forced a
    # split that then fitted neither table)
    if width is None or Console(width=10_000).measure(table("", gates + classes, True, True, 12)).maximum <= width:
        return [*lines, whole]
    return [*lines, table("Reading token by token: the gates", gates, True, False),
            table("The prediction as it forms", classes, False, True)]
