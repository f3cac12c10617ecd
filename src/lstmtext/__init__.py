"""lstmtext: train, compare, explain and serve RNN/LSTM-family text classifiers on a CPU."""

import os as _os

# OpenMP busy-waiting made an LSTM step ~5x slower on a 2-core machine under load; must be set before torch loads.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# oneDNN and ideep (torch's wrapper of it) each keep up to 1,024 compiled products, one per shape, with their
# scratch memory; batches of varying length make new shapes all along, so a language model's pretraining grew
# from 920 to 1,744 MiB between 1 and 32 copies of a corpus (benchmarks/lm_memory.py). Capped (oneDNN 64,
# ideep 16) it stays at 648-786 MiB; with both at 16, training ran as fast as uncapped. oneDNN keeps 64 as
# building a whole-sequence LSTM kernel costs ~3 ms and one-text inference builds one per text length (p50
# 4.1 ms for a tweet at 16, 0.8 at 64).
# Read when torch loads, so only before `import torch`; an explicit setting wins.
_os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")
_os.environ.setdefault("LRU_CACHE_CAPACITY", "16")

__version__ = "0.1.0"

__all__ = ["TextClassifier", "MultiLabelTextClassifier", "AspectClassifier", "Predictor", "Prediction", "build_config",
           "load_bundle", "run", "__version__"]

_LAZY = {
    "TextClassifier": "lstmtext.classifier",
    "MultiLabelTextClassifier": "lstmtext.classifier",
    "AspectClassifier": "lstmtext.classifier",
    "Predictor": "lstmtext.inference.predictor",
    "Prediction": "lstmtext.tasks",
    "build_config": "lstmtext.config",
    "load_bundle": "lstmtext.inference.bundle",
    "run": "lstmtext.pipeline",
}


def __getattr__(name: str):
    """Import the public names on first use, so `import lstmtext` stays light (torch loads only when needed)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'lstmtext' has no attribute {name!r}")
