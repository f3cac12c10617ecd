"""The ``lstmtext explain`` command: worked LSTM / RNN examples step by step, or a trained model's prediction.

The first argument decides: ``lstm`` or ``rnn`` runs a worked example (``--example``) or any small case
(``--weights FILE.json``) through the NumPy reference and prints its tables; ``bilstm``, ``cbow`` and ``onehot``
the thesis's; anything else is a bundle path, and the command shows which tokens pushed the prediction (every
model) and, for an LSTM with pooling=last, how its gates, cell state and prediction evolve over the text.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from lstmtext.cli.common import OverwriteFileOpt, console
from lstmtext.errors import ConfigError

WORKED = ("lstm", "rnn")
THESIS = ("bilstm", "cbow", "onehot")  # the thesis's worked cases: lstmtext.explain.reference.thesis_examples
EPILOG = "\n\n".join([
    "Examples (slides_lstm, rnn_small, bilstm_small and cbow_small are weights files shipped with lstmtext; give your "
    "own FILE.json in their format):",
    "lstmtext explain lstm --example slides",
    "lstmtext explain lstm --example gates",
    "lstmtext explain lstm --weights slides_lstm",
    "lstmtext explain lstm --weights slides_lstm --inputs \"1,2; 0.5,3; 2,-1\" --targets \"0.5; 1.25; 0\"",
    "lstmtext explain rnn --weights rnn_small",
    "lstmtext explain rnn --weights rnn_small --inputs \"1,0; 0,1\" --targets \"0.5,0; 0,0.5\" --lr 0.5",
    "lstmtext explain bilstm   |   lstmtext explain bilstm --weights bilstm_small --lr 0.5",
    "lstmtext explain cbow   |   lstmtext explain cbow --weights cbow_small",
    "lstmtext explain onehot \"bukalapak bagus barang sesuai pengiriman cepat\"",
    "lstmtext explain runs/demo \"@united thanks for nothing, my bag is lost again\" --out explain.png",
    "A weights file holds \"cell\", \"weights\" and optionally \"inputs\", \"targets\", \"lr\", \"h0\", \"c0\" "
    "(see docs/explain.md).",
])


def explain(
    target: Annotated[str, typer.Argument(help="'lstm' or 'rnn' for a worked example; 'bilstm', 'cbow' or 'onehot' for the thesis's; or a saved model folder.", show_default=False)],
    text: Annotated[Optional[str], typer.Argument(help="With a model folder: the text to read token by token; with 'onehot': the sentence.", show_default=False)] = None,
    example: Annotated[Optional[str], typer.Option(help="Worked example: 'slides' (LSTM, two steps with BPTT) or 'gates' (one LSTM step).")] = None,
    weights: Annotated[Optional[Path], typer.Option(help="JSON weights file of a small case, or a shipped one: slides_lstm, rnn_small, bilstm_small, cbow_small.")] = None,
    inputs: Annotated[Optional[str], typer.Option(help="Inputs, steps split by ';', e.g. \"1,2; 0.5,3\" (overrides the file's).")] = None,
    targets: Annotated[Optional[str], typer.Option(help="Per-step targets, e.g. \"0.5; 1.25\" (overrides the file's); none: forward only.")] = None,
    lr: Annotated[Optional[float], typer.Option(help="Learning rate of the SGD step (default: the file's, else 0.1).")] = None,
    decimals: Annotated[int, typer.Option(min=1, max=12, help="Decimals in the worked tables.")] = 5,
    out: Annotated[Optional[Path], typer.Option(help="With a model folder: write the heatmaps and probability plot to this PNG.")] = None,
    units: Annotated[bool, typer.Option("--units", help="With --out: one heatmap per gate over hidden units instead of the means.")] = False,
    overwrite: OverwriteFileOpt = False,
) -> None:
    """Explain an LSTM: the source material's worked examples step by step, or a trained model token by token.

    `explain lstm --example slides|gates` and `explain lstm|rnn --weights FILE.json` print each gate's
    pre-activation and activation, the state and the output per step, then (with targets) the backward
    pass, the gradients and the SGD update. `explain MODEL "some text"` shows, for every model, how much
    each token pushed each predicted class, aspect label or label (occlusion: the probability with the text
    minus without the token); for an LSTM/BiLSTM model with pooling=last also each token's mean gate
    activations, the cell-state norm and the class probabilities after each token (--out writes a PNG). `explain bilstm|cbow [--weights FILE.json]`
    and `explain onehot "TEXT"` work through the thesis's BiLSTM training step, word2vec CBOW step and
    one-hot table (docs/explain.md).
    """
    if target in THESIS and not _is_bundle(target):  # self-contained: the logic is in lstmtext.explain.reference
        from lstmtext.explain.reference.thesis_examples import run_thesis
        from lstmtext.explain.reference.thesis_tables import thesis_report

        given = [n for n, v in (("--example", example), ("--inputs", inputs), ("--targets", targets), ("--out", out),
                                ("--units", units or None)) if v is not None]
        for renderable in thesis_report(run_thesis(target, text, weights, lr, given), decimals):
            console.print(renderable)
        return
    if target in WORKED and not _is_bundle(target):
        from lstmtext.explain.reference.worked import run_worked, worked_report

        if text is not None or out is not None or units:
            raise ConfigError(f"explain {target}: TEXT, --out and --units are for a model folder; "
                              "for a worked example give --example or --weights")
        for renderable in worked_report(run_worked(target, example, weights, inputs, targets, lr), decimals, example):
            console.print(renderable)
        return
    if not Path(target).exists():  # a misspelt worked example read as a missing model folder ("lstmm: no such folder")
        import difflib

        close = difflib.get_close_matches(target, [*WORKED, *THESIS], n=1, cutoff=0.7)
        if close:
            raise ConfigError(f"explain {target}: neither a worked example ({', '.join([*WORKED, *THESIS])}) nor a "
                              f"model folder. Did you mean {close[0]!r}?")
    given = [name for name, value in (("--example", example), ("--weights", weights), ("--inputs", inputs),
                                      ("--targets", targets), ("--lr", lr)) if value is not None]
    if given:
        raise ConfigError(f"explain {target}: {given[0]} is for the worked examples; write "
                          f"`lstmtext explain lstm {given[0]} ...` (the first argument must be 'lstm' or 'rnn')")
    if text is None:
        raise ConfigError(f"explain {target}: give the text to read, e.g. "
                          f"`lstmtext explain {target} \"my bag is lost\"` "
                          "(or 'lstm' / 'rnn' as the first argument for the worked examples)")
    from lstmtext.explain.model import explain_model
    from lstmtext.utils.outputs import check_out_file

    if units and out is None:
        raise ConfigError("--units draws one heatmap per gate into the --out PNG; give --out FILE.png too.")
    if out is not None:
        if out.suffix.lower() != ".png":
            raise ConfigError(f"--out {out}: the figure is written as PNG; give a path ending in .png.")
        check_out_file(out, overwrite)
    for renderable in explain_model(target, text, out, units=units, width=console.width):
        console.print(renderable)


def _is_bundle(target: str) -> bool:
    """A folder named like a worked example ('lstm', 'rnn') is read as a model only when it holds one."""
    from lstmtext.errors import BundleError
    from lstmtext.inference.bundle import resolve_bundle_path

    try:
        resolve_bundle_path(target)
    except BundleError:
        return False
    return True
