"""Named cleaning chains (preprocessing presets), each a list of step names plus step options.

``en-tweet`` is the airline tutorial's chain. The language presets (``id-news``, ``id-review``,
``vi-review``) follow the Indonesian news paper, the aspect-sentiment thesis and the Vietnamese lecture.
Every preset except ``none`` starts by composing Unicode (NFC) and dropping invisible characters
(``normalize_unicode``; ``vi-review`` first re-attaches split-off tone marks). Every preset can be
overridden step by step in the config (``preprocess.steps``).
"""

from __future__ import annotations

from typing import Any

from lstmtext.config import Config, PreprocessConfig
from lstmtext.errors import ConfigError
from lstmtext.preprocess.indonesian import REVIEW_KEEP
from lstmtext.preprocess.pipeline import Pipeline

PREPROCESS_PRESETS: dict[str, dict[str, Any]] = {
    "en-tweet": {
        "steps": [
            "normalize_unicode",
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
    # The C-LSTM news paper's chain: stopword removal, special characters, case folding, stemming. Case is
    # folded and punctuation split off first so that "Dan" and "dan," are found in the stopword list; the
    # paper removes the whole list (no keep list: negation matters little for topics). Digits are kept.
    "id-news": {
        "steps": [
            "normalize_unicode",
            "remove_urls",
            "lowercase",
            "punctuation_to_space",
            "normalize_whitespace",
            "remove_stopwords_id",
            "stem_id",
        ],
        "options": {"remove_stopwords_id": {"keep": []}},
    },
    # The aspect-sentiment thesis, in its order: case folding; filtering (URLs, emoji, punctuation, digits,
    # single characters such as a lone "x"); normalisation; negation joining; stopword removal that keeps
    # negations and intensifiers. Filtering first means lexicon entries spelled with digits or quotes
    # (anak2) are looked up without them (anak), as in the thesis. No stemming: the thesis's survey reports
    # 2.77% higher accuracy without it on marketplace reviews, and it merges words sentiment tells apart.
    "id-review": {
        "steps": [
            "normalize_unicode",
            "lowercase",
            "remove_urls",
            "remove_emoji",
            "punctuation_to_space",
            "remove_digits",
            "remove_single_chars",
            "normalize_slang",
            "join_negation",
            "remove_stopwords_id",
        ],
        # A sentence or clause end is marked, and join_negation does not cross it (``kurang. Bagus``, ``kurang,
        # berisik``). The slang g (tidak: "g ada air panas") is kept for normalize_slang, and a unit such as 4g or
        # 200g is removed whole so that it leaves no g behind. The stopword step keeps the words that carry a
        # review's polarity (REVIEW_KEEP: biasa saja, lama, tapi, ...).
        "options": {"punctuation_to_space": {"clause_ends": True}, "remove_digits": {"units": True},
                    "remove_single_chars": {"keep": ["g"]}, "remove_stopwords_id": {"keep": list(REVIEW_KEEP)}},
    },
    # The Vietnamese lecture's chain for NTC-SCV reviews, after re-attaching tone marks that the data set's
    # tokeniser split off (4% of reviews) and putting a tone mark of oa/oe/uy on one vowel (hoà -> hòa): URLs and HTML
    # tags, emoji and text emoticons as words (before punctuation, which the emoticons are made of: ": )" -> smiley),
    # punctuation (keeping "_"), the spellings of không and được (ko, k, đc), digits with a price's k (50k), whitespace,
    # then word segmentation on the clean text and lower-casing last (pyvi segments cased text slightly better:
    # 84.4% vs 83.1% agreement with NTC-SCV's own segmentation on 300 reviews). The lecture deletes emoji and
    # emoticons and keeps the k of a price; the words, spellings and tone marks measured better on NTC-SCV's valid
    # split (`default` preset, seeds 1-3, macro-F1 0.8658 -> 0.8733; TF-IDF + LR cross-validated 0.8840 -> 0.8890:
    # studies/vi_cleaning.py, docs/languages.md).
    "vi-review": {
        "steps": [
            "fix_vi_diacritics_v2",
            "normalize_unicode",
            "unify_vi_tone_marks",
            "remove_urls",
            "html_entities",
            "strip_html_tags",
            "strip_spaced_html_tags",
            "emoji_to_words",
            "text_emoticons_to_words",
            "punctuation_to_space",
            "normalize_slang_vi",
            "remove_digits",
            "normalize_whitespace",
            "segment_vi",
            "lowercase",
        ],
        "options": {"remove_digits": {"units": True}},
    },
    "plain": {"steps": ["normalize_unicode", "lowercase", "normalize_whitespace"], "options": {}},
    "none": {"steps": [], "options": {}},
}


# id-review without stopword removal, for aspect sentiment (the absa model preset): the stopword list drops tapi,
# cuma, kecil, lama, masih, ..., which carry an aspect's polarity (HoASA valid flat macro-F1 0.81 -> 0.85 with
# them kept, docs/absa.md).
PREPROCESS_PRESETS["id-aspect"] = {
    "steps": [step for step in PREPROCESS_PRESETS["id-review"]["steps"] if step != "remove_stopwords_id"],
    "options": {k: v for k, v in PREPROCESS_PRESETS["id-review"]["options"].items() if k != "remove_stopwords_id"},
}


def preprocess_preset(name: str) -> dict[str, Any]:
    """Return a copy of the preprocessing preset ``name``.

    Raises:
        ConfigError: If there is no such preset.
    """
    if name not in PREPROCESS_PRESETS:
        import difflib

        close = difflib.get_close_matches(name, list(PREPROCESS_PRESETS), n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        raise ConfigError(f"preprocess.preset: unknown cleaning preset {name!r}.{hint} Available: "
                          f"{', '.join(sorted(PREPROCESS_PRESETS))}.")
    preset = PREPROCESS_PRESETS[name]
    return {"steps": list(preset["steps"]), "options": {k: dict(v) for k, v in preset["options"].items()}}


def check_model_preset(name: str | None) -> None:
    """Refuse a cleaning preset's name where a model preset is asked for, saying where it goes instead.

    Raises:
        ConfigError: If ``name`` names a cleaning preset and no model preset.
    """
    from lstmtext.config.presets import MODEL_PRESETS

    if name in PREPROCESS_PRESETS and name not in MODEL_PRESETS:
        raise ConfigError(f"--preset {name!r}: that is a cleaning preset; choose it with --set "
                          f"preprocess.preset={name} (the model presets: {', '.join(sorted(MODEL_PRESETS))}).")


def build_pipeline(config: Config | str) -> Pipeline:
    """The cleaning pipeline a config describes: the ``preprocess`` preset, with ``steps``/``options`` overriding
    it, reading at most ``preprocess.max_chars`` characters of a text (on the side ``vocab.truncating`` keeps).
    ``config`` may also be a cleaning preset's name: ``build_pipeline("en-tweet")("@united thx!!")``."""
    if isinstance(config, str):
        from lstmtext.config import build_config

        config = build_config(None, overrides={"preprocess.preset": config})
    cfg = resolved_preprocess(config.preprocess.model_dump(mode="json"))
    check_options_have_steps(cfg["steps"], cfg["options"])
    return Pipeline(cfg["steps"], cfg["options"], cfg["max_chars"], config.vocab.truncating == "pre")


def check_options_have_steps(steps: list[str], options: dict[str, Any]) -> None:
    """Refuse options of a step the chain does not run: they would do nothing (a lexicon never read).

    Raises:
        ConfigError: Naming the option's step, the chain, and the closest step name.
    """
    import difflib

    from lstmtext.preprocess.steps import available_steps

    for step in options:
        if step in steps:
            continue
        close = difflib.get_close_matches(step, [*steps, *available_steps()], n=1)
        hint = f" Did you mean {close[0]!r}?" if close and close[0] != step else ""
        raise ConfigError(f"preprocess.options.{step}: the cleaning chain has no step {step!r} "
                          f"({', '.join(steps) or 'no steps'}), so its options would do nothing.{hint} Add the step to "
                          "preprocess.steps, pick a preset that has it, or drop the option.")


def resolved_preprocess(cfg: dict[str, Any]) -> dict[str, Any]:
    """A ``preprocess`` section (as a dict) with the steps and options its preset stands for written out, so
    that it means the same chain after a preset changes (a language model saves it so).

    A section that names its own ``steps`` is a chain written out: its ``options`` are all it has, and the
    preset's do not join them (a language model saved before a preset gained an option keeps its cleaning).
    """
    preset = preprocess_preset(cfg.get("preset", PreprocessConfig.model_fields["preset"].default))
    if cfg.get("steps") is not None:
        return {**cfg, "steps": list(cfg["steps"]), "options": dict(cfg.get("options") or {})}
    return {**cfg, "steps": list(preset["steps"]), "options": {**preset["options"], **(cfg.get("options") or {})}}


def cleaning_choice(value: str) -> dict[str, Any]:
    """The ``preprocess`` section a ``--preprocess`` value names: a cleaning preset, or comma-separated steps (one
    step's name alone is a chain of that step: ``--preprocess lowercase`` was refused as an unknown preset)."""
    from lstmtext.preprocess.steps import available_steps

    if value in PREPROCESS_PRESETS or ("," not in value and value.strip() not in available_steps()):
        return {"preset": value}
    return {"steps": [step.strip() for step in value.split(",") if step.strip()]}
