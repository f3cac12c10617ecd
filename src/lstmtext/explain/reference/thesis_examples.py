"""The thesis's small worked cases as data, and the functions that run them (``lstmtext explain bilstm|cbow|onehot``).

The thesis (chapter 2, on aspect-based sentiment analysis with BiLSTM and word2vec CBOW) derives the equations but prints no numbers, so
the built-in weights are ours: small enough to follow by hand.

* BiLSTM (sections 2.7-2.8.3): D = 2 inputs, H = 1 unit per direction, K = 2 classes, three time steps
  with one label each, learning rate 0.1; ``bilstm_small`` is the same case as a file.
* CBOW with one context word (section 2.4.2): the first five words of the thesis's sentence (figure 2.9)
  as the vocabulary, N = 3, context "barang", target "sesuai" ("barang sesuai": the goods are as
  described); ``cbow_small``.
* The one-hot table of figure 2.9 for any sentence.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path

from lstmtext.errors import ConfigError
from lstmtext.explain.reference import bilstm, cbow, onehot, thesis_io, weights_io

BILSTM_DIRECTIONS: dict[str, dict[str, object]] = {
    "forward": {
        "W_f": [0.5, -0.3], "U_f": 0.2, "b_f": 0.1,
        "W_i": [0.4, 0.6], "U_i": -0.1, "b_i": 0.0,
        "W_c": [-0.2, 0.7], "U_c": 0.3, "b_c": 0.05,
        "W_o": [0.3, 0.2], "U_o": 0.4, "b_o": -0.1,
    },
    "backward": {
        "W_f": [-0.4, 0.2], "U_f": 0.1, "b_f": 0.2,
        "W_i": [0.6, -0.1], "U_i": 0.3, "b_i": -0.1,
        "W_c": [0.5, 0.4], "U_c": -0.2, "b_c": 0.0,
        "W_o": [-0.3, 0.5], "U_o": 0.2, "b_o": 0.1,
    },
}  # fmt: skip
"""Per direction and gate W (1, 2), U (1, 1), b (1,), written as scalars and flat lists since H = 1."""
BILSTM_W_Y = ((0.6, -0.4), (-0.5, 0.8))
"""W_y (K = 2, 2H = 2): row k scores class k from [→h_t, ←h_t]."""
BILSTM_INPUTS = ((0.5, 1.0), (1.0, -0.5), (-1.0, 0.5))
"""x_0, x_1, x_2 (T = 3, D = 2)."""
BILSTM_LABELS = (1, 1, 0)
"""The class of each step, y_rt as an index."""
BILSTM_LR = 0.1

CBOW_VOCABULARY = onehot.build_vocabulary(onehot.tokenize(onehot.THESIS_SENTENCE))[:5]
"""bukalapak, bagus, barang, sesuai, pengiriman: the first five words of figure 2.9."""
CBOW_W = (
    (0.2, -0.1, 0.4),
    (-0.3, 0.5, 0.1),
    (0.4, 0.3, -0.2),
    (0.1, -0.4, 0.3),
    (-0.2, 0.2, 0.5),
)
"""W (V = 5, N = 3): row k is the input vector v_{w_k} of word k."""
CBOW_W_PRIME = (
    (0.3, -0.2, 0.1, -0.4, 0.2),
    (0.1, 0.4, -0.3, 0.2, -0.1),
    (-0.2, 0.3, 0.5, 0.1, 0.4),
)
"""W' (N = 3, V = 5): column j is the output vector v'_{w_j} of word j."""
CBOW_CONTEXT, CBOW_TARGET, CBOW_LR = "barang", "sesuai", 0.1


def bilstm_document() -> dict:
    """The built-in BiLSTM case as a new weights document (what ``bilstm_small`` holds)."""
    return {"model": "bilstm", **copy.deepcopy(BILSTM_DIRECTIONS), "W_y": [list(r) for r in BILSTM_W_Y],
            "inputs": [list(x) for x in BILSTM_INPUTS], "labels": list(BILSTM_LABELS), "lr": BILSTM_LR}


def cbow_document() -> dict:
    """The built-in CBOW case as a weights document (what ``cbow_small`` holds)."""
    return {"model": "cbow", "vocabulary": list(CBOW_VOCABULARY), "W": [list(r) for r in CBOW_W],
            "W_prime": [list(r) for r in CBOW_W_PRIME], "context": CBOW_CONTEXT, "target": CBOW_TARGET,
            "lr": CBOW_LR}


def _check_lr(lr: float | None) -> None:
    if lr is not None:
        weights_io.learning_rate(lr, "--lr")


def run_bilstm_example(weights_path: str | Path | None = None, lr: float | None = None) -> bilstm.BiLSTMRun:
    """Forward, BPTT and one SGD step of the built-in BiLSTM case, or of a weights file; ``lr`` overrides.

    Raises:
        ConfigError: An invalid file or a non-positive ``lr``.
    """
    _check_lr(lr)
    if weights_path is None:
        case = thesis_io.parse_bilstm(bilstm_document(), "built-in BiLSTM example")
    else:
        case = thesis_io.load_bilstm(weights_path)
    return bilstm.run_sequence(case.params, case.inputs, case.labels, case.lr if lr is None else lr)


def run_cbow_example(weights_path: str | Path | None = None, lr: float | None = None) -> cbow.CBOWStep:
    """One CBOW step of the built-in case, or of a weights file; ``lr`` overrides.

    Raises:
        ConfigError: An invalid file or a non-positive ``lr``.
    """
    _check_lr(lr)
    if weights_path is None:
        case = thesis_io.parse_cbow(cbow_document(), "built-in CBOW example")
    else:
        case = thesis_io.load_cbow(weights_path)
    return cbow.cbow_step(case.vocabulary, case.W, case.W_prime, case.context, case.target,
                          case.lr if lr is None else lr)


@dataclass
class ThesisRun:
    """What ``explain bilstm|cbow|onehot`` computed: exactly one of the three is set."""

    kind: str
    bilstm: bilstm.BiLSTMRun | None = None
    cbow: cbow.CBOWStep | None = None
    onehot: onehot.OneHot | None = None


def run_thesis(kind: str, text: str | None = None, weights_path: str | Path | None = None,
               lr: float | None = None, unsupported: tuple[str, ...] | list[str] = ()) -> ThesisRun:
    """Run one of the thesis's cases for the CLI; ``unsupported`` names options the user gave that it cannot take.

    Raises:
        ConfigError: One line: an option that does not fit, an empty sentence, an invalid weights file.
    """
    if kind not in ("bilstm", "cbow", "onehot"):
        raise ConfigError(f"explain: expected bilstm, cbow or onehot, got {kind!r}")
    if unsupported:
        raise ConfigError(f"explain {kind}: {unsupported[0]} is not an option of `explain {kind}`; it takes "
                                    + ("TEXT only" if kind == "onehot" else "--weights, --lr and --decimals"))
    if kind == "onehot":
        for name, value in (("--weights", weights_path), ("--lr", lr)):
            if value is not None:
                raise ConfigError(f"explain onehot: {name} is not an option; give the sentence only, "
                                            "e.g. `lstmtext explain onehot \"bukalapak bagus barang\"`")
        if text is None:
            raise ConfigError("explain onehot: TEXT is missing; give a sentence, e.g. "
                                        f"`lstmtext explain onehot \"{onehot.THESIS_SENTENCE}\"`")
        return ThesisRun(kind, onehot=onehot.encode(text))
    if text is not None:
        raise ConfigError(f"explain {kind}: TEXT is for `explain onehot` or a model folder; "
                                    f"`explain {kind}` takes --weights FILE.json and --lr")
    if kind == "bilstm":
        return ThesisRun(kind, bilstm=run_bilstm_example(weights_path, lr))
    return ThesisRun(kind, cbow=run_cbow_example(weights_path, lr))
