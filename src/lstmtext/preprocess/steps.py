"""The registry of named cleaning steps: each step is a pure ``str -> str`` function.

A pipeline is a list of step names (see :mod:`lstmtext.preprocess.pipeline`); it is saved with a model so
prediction applies exactly the steps training used. A registered name is a contract: a step's behaviour
never changes under the same name; a changed step gets a new name (``foo_v2``).

Steps that need a resource (a lexicon, a stopword list) are registered through a *factory* that takes
keyword options from the config (``[preprocess.options]``) and returns the ``str -> str`` function.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from lstmtext.errors import ConfigError

Step = Callable[[str], str]
StepFactory = Callable[..., Step]

#: Where a clause ended, once its punctuation is gone: ``punctuation_to_space`` with ``clause_ends`` writes it
#: (ASCII's group separator, whitespace to ``str.split``, so every step that splits on whitespace drops it) and
#: the steps that must not reach across a clause (``remove_single_chars``, ``join_negation``) work between two
#: of them. A text without one (every text of a chain that does not ask for clause ends) is cleaned as before.
CLAUSE_BREAK = "\x1d"

_STEPS: dict[str, StepFactory] = {}
_DOCS: dict[str, str] = {}
_FILES: dict[str, tuple[str, ...]] = {}
_PLAIN: set[str] = set()  # the steps that take no options


def register_step(name: str, *, factory: bool = False, files: tuple[str, ...] = ()) -> Callable[[Callable], Callable]:
    """Register a cleaning step under ``name``.

    Args:
        name: The stable name used in configs and saved bundles.
        factory: If True the decorated function takes keyword options and returns the step;
            otherwise it is the step itself.
        files: The options that name a file (a lexicon, a word list): a saved model carries a copy of each
            (see :func:`lstmtext.preprocess.pipeline.pack_files`), so it cleans the same way elsewhere.

    Returns:
        A decorator that registers the function and returns it unchanged.
    """

    def decorator(fn: Callable) -> Callable:
        if name in _STEPS:
            raise RuntimeError(f"cleaning step {name!r} is registered twice")
        _STEPS[name] = fn if factory else (lambda: fn)  # a plain step takes no options: any given is refused
        if not factory:
            _PLAIN.add(name)
        _DOCS[name] = first_sentence(fn.__doc__ or "")
        _FILES[name] = tuple(files)
        return fn

    return decorator


def first_sentence(doc: str) -> str:
    """A docstring's first sentence, over as many lines as it is wrapped on (its first line alone cut three steps'
    descriptions mid-sentence in ``lstmtext presets``)."""
    paragraph = " ".join(doc.strip().split("\n\n")[0].split())
    for end in re.finditer(r"[.!?] (?=[A-Z(])", paragraph):  # a sentence's end, not a dot in ``code`` or "e.g. x"
        if paragraph[: end.start()].count("``") % 2 == 0:
            return paragraph[: end.start() + 1]
    return paragraph


def available_steps() -> dict[str, str]:
    """Return ``{name: one-line description}`` of every registered step, sorted by name."""
    _load_builtin_steps()
    return {name: _DOCS[name] for name in sorted(_STEPS)}


def takes_options(name: str) -> bool:
    """Whether step ``name`` takes options (registered with ``factory=True``); unknown steps: True (the error that
    names them comes when the step is made)."""
    _load_builtin_steps()
    return name not in _PLAIN


def file_options(name: str) -> tuple[str, ...]:
    """The options of step ``name`` that name a file (empty for unknown steps and steps without files)."""
    _load_builtin_steps()
    return _FILES.get(name, ())


def make_step(name: str, options: dict[str, Any] | None = None) -> Step:
    """Build the step registered as ``name``.

    Args:
        name: A registered step name.
        options: Keyword options for steps registered with ``factory=True`` (plain steps take none).

    Raises:
        ConfigError: If no step has that name.
    """
    _load_builtin_steps()
    if name not in _STEPS:
        import difflib

        close = difflib.get_close_matches(name, list(_STEPS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(
            f"preprocess.steps: unknown cleaning step {name!r}.{hint} Available: {', '.join(sorted(_STEPS))}."
        )
    options = dict(options or {})
    factory = _STEPS[name]
    accepted = inspect.signature(factory).parameters
    if not any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        unknown = sorted(set(options) - set(accepted))
        if unknown:
            known = f"Options of {name!r}: {', '.join(accepted)}" if accepted else f"{name!r} takes no options: leave " \
                    f"preprocess.options.{name} out"
            raise ConfigError(f"preprocess.options.{name}: unknown option {unknown[0]!r}. {known}.")
    return factory(**options)


def _load_builtin_steps() -> None:
    """Import the modules that register the built-in steps (once; imports are cached)."""
    import importlib

    for module in ("common", "english", "indonesian", "vietnamese"):
        importlib.import_module(f"lstmtext.preprocess.{module}")
