"""The HTTP API's request and response models; the request model carries the limits of the settings."""

from __future__ import annotations

import functools
import unicodedata
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, create_model, field_validator

#: Characters that show nothing though they are letters or symbols to Unicode: the Hangul fillers and the blank
#: Braille pattern, used to send "empty" messages (alone, they were answered as a text: the model's prior).
FILLERS = "\u115f\u1160\u3164\uffa0\u2800"


@functools.cache
def not_blank() -> str:
    """The pattern a text must match: at least one character that is neither white space nor an invisible format
    or control character (Unicode's Cf: zero-width spaces and joiners, the byte-order mark, the soft hyphen,
    direction marks; "\u200e" alone had been answered as a text; Cc: NUL and the other controls, "\u0000" too), nor
    one of the :data:`FILLERS`. Listed, not ``\\p{Cf}``: the schema's readers
    (Python's ``re`` among them) lack Unicode classes; and those of plane 0 only, as a JavaScript pattern without
    the ``u`` flag reads a character past it as two halves (a range of them is "out of order")."""
    found = sorted({*(c for c in range(0x10000) if unicodedata.category(chr(c)) in ("Cf", "Cc")), *map(ord, FILLERS)})
    ranges, start = [], found[0]
    for prev, c in zip(found, found[1:] + [-1]):
        if c != prev + 1:
            ranges.append(chr(start) if start == prev else f"{chr(start)}-{chr(prev)}")
            start = c
    return "[^\\s" + "".join(ranges) + "]"


class PredictRequestBase(BaseModel):
    """Texts to classify and how many of the best classes to list for each."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"texts": ["@united thanks for the quick rebooking, great crew!"], "top_k": 2}]})

    # int | None: null is accepted (as the default, 1), so the schema says so (schemathesis: "schema-violating
    # request accepted")
    top_k: int | None = Field(1, ge=1, description="how many of the best classes go in `top_k` (all classes if "
                                                   "larger; null: 1)")
    min_confidence: float | None = Field(
        None, gt=0, le=1, allow_inf_nan=False, description="answer unsure below this probability: a single-label (or aspect) record gets "
        "`abstained: true` and `label: null`; a multi-label one moves the labels decided with less confidence "
        "(p for a label over its threshold, 1 - p for one under it) to `unsure` (null: the server's "
        "`serve --min-confidence`, if any)")

    @field_validator("top_k", "min_confidence", mode="before")
    @classmethod
    def _a_json_number(cls, value: Any, info: Any) -> Any:
        """JSON true/false and strings are not numbers (pydantic would read true as 1 and "2" as 2); ``null`` is
        the default, for ``top_k`` as for ``min_confidence`` (a client that always sends both keys)."""
        if isinstance(value, (bool, str)):
            raise ValueError(f"must be a number, not {'true or false' if isinstance(value, bool) else 'a string'}")
        if value is None and info.field_name == "top_k":
            return cls.model_fields["top_k"].default
        return value


def predict_request_model(max_texts: int, max_text_chars: int) -> type[PredictRequestBase]:
    """Build the ``/predict`` body model with the server's limits, so they also show in the OpenAPI schema.

    Args:
        max_texts: Most texts in one request.
        max_text_chars: Most characters in one text.
    """
    # not blank: an empty text has nothing to classify (its answer would be the model's prior, given as a label)
    text = Annotated[str, StringConstraints(max_length=max_text_chars, pattern=not_blank())]
    texts_field = Field(min_length=1, max_length=max_texts,
                        description=f"1 to {max_texts} texts of 1 to {max_text_chars} characters each, not blank")
    return create_model("PredictRequest", __base__=PredictRequestBase, texts=(list[text], texts_field))


def explain_request_model(max_text_chars: int) -> type[BaseModel]:
    """The ``/explain`` body model: one text of at most ``max_text_chars`` characters."""
    text = Annotated[str, StringConstraints(max_length=max_text_chars, pattern=not_blank())]  # "" fails the pattern too
    return create_model("ExplainRequest", __config__=ConfigDict(extra="forbid"),
                        text=(text, Field(description=f"the text whose prediction to explain (1 to {max_text_chars} "
                                                       "characters)")))


class TargetScores(BaseModel):
    """One predicted target (a class, ``aspect=label``, or a chosen label) and each token's push towards it."""

    target: str
    probability: float = Field(description="the target's probability with the whole text")
    scores: list[float] = Field(description="per token: the probability with the text minus without that token")
    note: str | None = Field(None, description="why this target is explained when it is not a prediction: an aspect "
                                               "model that finds no aspect explains the closest one, a multi-label model "
                                               "that chooses no label the most probable one")


class ExplainResponse(BaseModel):
    """Which tokens pushed the prediction (occlusion by deletion; see docs/explain.md)."""

    text: str
    cleaned: str = Field(description="the text after the model's cleaning steps")
    tokens: list[str] = Field(description="the words the model read, in order, as in `cleaned`")
    unknown: list[bool] = Field(description="per token: true for a word the model does not know (read as <unk>)")
    method: str
    targets: list[TargetScores]
    note: str | None = Field(None, description="why nothing is explained (a text that cleans to nothing), or that "
                                  "only part of a long text was read (vocab.max_len), or that the model knows none "
                                  "of its words")


class ClassScore(BaseModel):
    """One class and its probability."""

    label: str
    score: float


class TextPrediction(BaseModel):
    """The prediction record of one text, the same as ``lstmtext predict`` writes: a single-label model gives
    ``label`` and ``score``, a multi-label one ``labels``, an aspect model one record per aspect in ``aspects``."""

    label: str | None = Field(None, description="the most probable class (single-label models)")
    score: float | None = Field(None, description="its probability")
    labels: list[str] | None = Field(None, description="multi-label models: the labels at or over their thresholds")
    abstained: bool | None = Field(None, description="true when the best probability is below `min_confidence`")
    unsure: list[str] | None = Field(None, description="multi-label with `min_confidence`: labels not decided surely")
    top_k: list[ClassScore] | None = Field(None, description="the top_k most probable classes, best first")
    probabilities: dict[str, float] | None = Field(None, description="every class's probability, in label order")
    aspects: dict[str, "TextPrediction"] | None = Field(None, description="aspect models: one record per aspect")
    no_known_word: bool | None = Field(None, description="true when the text holds no word the model knows after "
                                       "cleaning: the answer is the model's guess for an empty text")
    truncated: bool | None = Field(None, description="true when the text holds more tokens than the model reads "
                                   "(vocab.max_len in /info's preprocessing): the answer reads only that many")


class PredictResponse(BaseModel):
    """One prediction per input text, in input order."""

    predictions: list[TextPrediction]


class HealthResponse(BaseModel):
    """The model is loaded and the server answers."""

    status: str = "ok"


class InfoResponse(BaseModel):
    """What is being served: labels, cleaning and sequence settings, scores, model card and limits."""

    engine: str
    labels: Any = Field(description="class names; {aspect: [class names]} for aspect models")
    architecture: str
    network: str = Field(description="what the network is, in a few words: bilstm 128, cnn + n-gram bag, ...")
    model: dict[str, Any] = Field(description="the model section of the training config")
    preprocessing: dict[str, Any] = Field(description="cleaning pipeline and sequence settings (max_len, truncating)")
    metrics: dict[str, Any] = Field(description="scores measured at training time, per split")
    model_card: str = Field(description="the bundle's model card (README.md, Markdown with YAML metadata)")
    meta: dict[str, Any] = Field(description="format and library versions, creation time")
    limits: dict[str, int] = Field(description="max_texts, max_text_chars, max_body_bytes")
    min_confidence: float | None = Field(None, description="the P below which /predict answers unsure when a "
                                                           "request gives none (serve --min-confidence)")


class ErrorResponse(BaseModel):
    """An error: one line saying what was wrong and how to fix it (``errors`` lists each invalid field)."""

    detail: str
    errors: list[dict[str, Any]] | None = None
    errors_left_out: int | None = Field(None, description="invalid fields past the first 20 listed in `errors`")
