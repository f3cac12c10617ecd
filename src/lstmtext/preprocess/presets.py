"""Named cleaning chains (preprocessing presets), each a list of step names plus step options.

``en-tweet`` is the airline tutorial's chain. The language presets (``id-news``, ``id-review``,
``vi-review``) follow the Indonesian news paper, the aspect-sentiment thesis and the Vietnamese lecture.
Every preset can be overridden step by step in the config (``preprocess.steps``).
"""

from __future__ import annotations

from typing import Any

from lstmtext.errors import ConfigError

PREPROCESS_PRESETS: dict[str, dict[str, Any]] = {
    "en-tweet": {
        "steps": [
            "remove_urls",
            "html_entities",
            "strip_html_tags",
            "emoji_to_words",
            "emoticons_to_words",
            "remove_mentions",
            "remove_hashtags",
            "expand_contractions",
            "squeeze_elongation",
            "mark_question",
            "mark_exclamation",
            "remove_punctuation",
            "remove_digits",
            "remove_dollar",
            "lowercase",
            "normalize_whitespace",
        ],
        "options": {},
    },
    "plain": {"steps": ["lowercase", "normalize_whitespace"], "options": {}},
    "none": {"steps": [], "options": {}},
}


def preprocess_preset(name: str) -> dict[str, Any]:
    """Return a copy of the preprocessing preset ``name``.

    Raises:
        ConfigError: If there is no such preset.
    """
    if name not in PREPROCESS_PRESETS:
        raise ConfigError(
            f"preprocess.preset: unknown preset {name!r}. Available: {', '.join(sorted(PREPROCESS_PRESETS))}."
        )
    preset = PREPROCESS_PRESETS[name]
    return {"steps": list(preset["steps"]), "options": {k: dict(v) for k, v in preset["options"].items()}}
