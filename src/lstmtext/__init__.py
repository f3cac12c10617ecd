"""lstmtext: train, compare, explain and serve RNN/LSTM-family text classifiers on a CPU."""

import os as _os

# OpenMP busy-waiting made an LSTM step ~5x slower on a 2-core machine under load; must be set before torch loads.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
