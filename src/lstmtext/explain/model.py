"""``lstmtext explain MODEL TEXT``: what every model gets (token attributions) and, for an LSTM read with
``pooling = "last"``, the gate view as well; the pictures with ``--out``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lstmtext.errors import ConfigError
from lstmtext.explain.attributions import attribution_report, explain_texts, plot_attributions
from lstmtext.explain.gates import bundle_report, check_explainable, explain_text, plot_explanation
from lstmtext.inference.bundle import load_bundle


def explain_model(path: str | Path, text: str, out: str | Path | None = None, units: bool = False,
                  width: int | None = None) -> list[Any]:
    """The renderables that explain ``text``'s prediction by the bundle at ``path`` (and write ``out``); ``width``:
    the terminal's columns, which a table too wide for them is split to fit.

    Raises:
        ConfigError: For an empty text, or ``--units`` with a model that has no gate view.
    """
    bundle = load_bundle(path)
    attributions = explain_texts(bundle, [text])[0]
    parts = attribution_report(attributions, str(path))
    try:
        check_explainable(bundle)
        gates = explain_text(bundle, text)
    except ConfigError as exc:
        if units:
            raise ConfigError(f"explain --units: {str(exc).removeprefix('explain: ')}") from None
        gates = None
    if gates is not None:
        parts += bundle_report(gates, str(path), width)
    if out is not None:
        if gates is not None:
            plot_explanation(gates, out, units=units)
        else:
            plot_attributions(attributions, out)
        parts.append(f"wrote {out}")
    else:
        parts.append("add --out FILE.png for a picture" + (" of the gates and the probabilities" if gates else ""))
    return parts
