"""lstmtext: train, compare, explain and serve RNN/LSTM-family text classifiers on a CPU."""

import os as _os

# OpenMP threads that finish a parallel region: GNU OpenMP's default spins ~3 ms before sleeping, which made an
# LSTM step ~5x slower on a loaded 2-core machine; sleeping at once (PASSIVE) costs a ~40 us wake-up on every
# parallel op instead, and an RNN's training runs thousands of small ops (a (64, 1024) multiply: 47 us against
# 5). A short spin (GOMP_SPINCOUNT=1000, ~10 us) keeps the threads awake between back-to-back ops and sleeps
# when work stops: quiet 2-core machine, zoo presets 1 epoch fp32, passive -> short spin: bilstm 9.0 -> 6.9 s,
# gru 9.8 -> 6.1, clstm 29.8 -> 12.0, seed001 bf16 3 epochs 7.8 -> 5.6 s. With another process busy on one
# of the 2 cores it costs 1.2-1.6x against passive, where one thread (train.threads=1) beats both (docs/speed.md, Threads).
# PASSIVE stays for other OpenMP runtimes (LLVM's, on macOS), which ignore GOMP_SPINCOUNT. A user's own
# OMP_WAIT_POLICY or GOMP_SPINCOUNT wins. Read when torch loads, so only before `import torch`.
if "OMP_WAIT_POLICY" not in _os.environ and "GOMP_SPINCOUNT" not in _os.environ:
    _os.environ["OMP_WAIT_POLICY"] = "PASSIVE"
    _os.environ["GOMP_SPINCOUNT"] = "1000"  # GNU OpenMP (torch's Linux wheels) reads it over the wait policy
# oneDNN and ideep (torch's wrapper of it) each keep up to 1,024 compiled products, one per shape, with their
# scratch memory; batches of varying length make new shapes all along, so a language model's pretraining grew
# from 920 to 1,744 MiB between 1 and 32 copies of a corpus (benchmarks/lm_memory.py). Capped (oneDNN 64,
# ideep 16) it stays at 648-786 MiB; with both at 16, training ran as fast as uncapped. oneDNN keeps 64 as
# building a whole-sequence LSTM kernel costs ~3 ms and one-text inference builds one per text length (p50
# 4.1 ms for a tweet at 16, 0.8 at 64).
# Read when torch loads, so only before `import torch`; an explicit setting wins.
_os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")
_os.environ.setdefault("LRU_CACHE_CAPACITY", "16")

# A rank of `train --nproc` (the launcher sets this for torchrun's processes) that the launcher interrupts while it
# still imports torch or joins the group leaves quietly: a KeyboardInterrupt traceback from every rank, then
# torchrun's own, had followed a Ctrl-C in a run's first seconds. lstmtext.pipeline.launch.worker takes Ctrl-C
# over once it runs, and the launcher says once what was kept.
if _os.environ.get("LSTMTEXT_RANK_QUIET_INTERRUPT") == "1":
    import signal as _signal

    _signal.signal(_signal.SIGINT, lambda *_: _os._exit(0))

__version__ = "0.1.0"

__all__ = ["TextClassifier", "MultiLabelTextClassifier", "AspectClassifier", "Predictor", "Prediction", "build_config",
           "load_bundle", "load_predictor", "run", "__version__"]

_LAZY = {
    "TextClassifier": "lstmtext.classifier",
    "MultiLabelTextClassifier": "lstmtext.classifier",
    "AspectClassifier": "lstmtext.classifier",
    "Predictor": "lstmtext.inference.predictor",
    "Prediction": "lstmtext.tasks",
    "build_config": "lstmtext.config",
    "load_bundle": "lstmtext.inference.bundle",
    "load_predictor": "lstmtext.inference.engines",
    "run": "lstmtext.pipeline",
}


def __getattr__(name: str):
    """Import the public names on first use, so `import lstmtext` stays light (torch loads only when needed)."""
    if name in _LAZY:
        import importlib

        found = getattr(importlib.import_module(_LAZY[name]), name)
        if name == "run":  # from Python its errors name its arguments (overwrite=True), not the CLI's options
            from lstmtext.errors import RUN_NAMES, python_terms

            found = python_terms(found, RUN_NAMES)
        return found
    raise AttributeError(f"module 'lstmtext' has no attribute {name!r}")


def __dir__() -> list[str]:
    """The module's names with the lazily imported public ones (tab completion, ``help(lstmtext)``)."""
    return sorted({*globals(), *_LAZY})
