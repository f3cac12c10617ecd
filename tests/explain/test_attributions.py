"""Occlusion attributions: the definition holds exactly, every architecture, wrapper and task is explained, and bad
texts are one-line errors."""

import numpy as np
import pytest
import torch

from helpers import classify_task
from lstmtext.config import build_config
from lstmtext.encoding.encoder import TextEncoder
from lstmtext.encoding.vocab import Vocab
from lstmtext.errors import ConfigError, DataError
from lstmtext.explain.attributions import explain_texts
from lstmtext.inference.bundle import Bundle
from lstmtext.inference.predictor import Predictor
from lstmtext.models import available_models, build_model
from lstmtext.preprocess import Pipeline

WORDS = "great flight thanks lost my bag rude staff delayed again".split()


def _bundle(task, **model):
    cfg = build_config(None, extra={"task": task.name, "model": {"embedding_dim": 8, "hidden_size": 6, **model}})
    encoder = TextEncoder(Pipeline(["lowercase", "normalize_whitespace"]), Vocab.build([WORDS]), max_len=50)
    torch.manual_seed(0)
    net = build_model(cfg.model, len(encoder.vocab), task.layout, **task.model_kwargs()).eval()
    return Bundle(cfg, encoder, task, net, {}, {})


def test_a_tokens_score_is_the_probability_with_minus_without_it(trained_run, monkeypatch):
    predictor = Predictor.from_bundle(trained_run[0])
    text = "thanks for the great flight"
    shared = []
    original = type(predictor.bundle.model).deletion_logits
    monkeypatch.setattr(type(predictor.bundle.model), "deletion_logits",
                        lambda self, ids: shared.append(len(ids)) or original(self, ids))
    ex = explain_texts(predictor.bundle, [text])[0]
    assert shared == [5]  # the default model's BiLSTM took the shared-prefix path
    target = ex.targets[0]
    k = predictor.labels.index(target.name)
    words = text.split()
    assert ex.tokens[0] == "thanks" and target.probability == pytest.approx(predictor.predict_proba([text])[0, k], abs=1e-6)
    for i in range(len(words)):  # leaving the word out of the raw text gives the same probability
        without = " ".join(words[:i] + words[i + 1:])
        assert target.scores[i] == pytest.approx(target.probability - predictor.predict_proba([without])[0, k],
                                                 abs=1e-6)
    assert ex.top(0, 1)[0][1] == max(target.scores) and ex.to_dict()["method"] == "occlusion"


@pytest.mark.parametrize("name", sorted(available_models()))
@pytest.mark.parametrize("wrap", [{}, {"ngram_bag": 2, "ngram_buckets": 1024}, {"ensemble": 2}],
                         ids=["plain", "bag", "ensemble"])
def test_every_architecture_and_wrapper_is_explained(name, wrap):
    bundle = _bundle(classify_task(["neg", "pos"]), name=name, **wrap)
    ex = explain_texts(bundle, ["lost my bag again", "great"])
    assert [len(e.tokens) for e in ex] == [4, 1] and all(len(e.targets) == 1 for e in ex)
    assert all(np.isfinite(e.targets[0].scores).all() for e in ex)


def test_aspect_and_multilabel_targets():
    from lstmtext.tasks.absa.task import AspectSentiment
    from lstmtext.tasks.multilabel.task import MultiLabel

    cfg = build_config(None, extra={"task": "absa"})
    absa = _bundle(AspectSentiment({"crew": ["neg", "none", "pos"], "bag": ["neg", "none"]}, cfg), name="bilstm")
    ex = explain_texts(absa, ["rude staff lost my bag"])[0]
    assert all(t.name.split("=")[0] in ("crew", "bag") and len(t.scores) == 5 for t in ex.targets)
    multi = _bundle(MultiLabel(["delay", "bag"], build_config(None, extra={"task": "multilabel"}),
                               {"thresholds": [0.0, 0.0]}), name="cnn")
    ex = explain_texts(multi, ["delayed again lost my bag"])[0]
    assert [t.name for t in ex.targets] == ["delay", "bag"]  # thresholds 0: both labels are chosen


def test_empty_texts_and_texts_that_clean_to_nothing_are_one_line_errors(trained_run):
    bundle = Predictor.from_bundle(trained_run[0]).bundle
    with pytest.raises(ConfigError, match="the text is empty"):
        explain_texts(bundle, ["   "])
    with pytest.raises(ConfigError, match=r"'2024 ...' cleans to nothing with .*Give a text with words"):
        explain_texts(bundle, ["2024 ..."])


def test_what_is_not_a_list_of_texts_or_not_a_loaded_model_is_refused_in_one_line(trained_run):
    bundle = Predictor.from_bundle(trained_run[0]).bundle
    with pytest.raises(DataError, match=r"^texts: one string \('bag'\), not a sequence of texts: pass \[text\]"):
        explain_texts(bundle, "bag")  # it explained 'b', 'a' and 'g'
    for odd in (5, None, float("nan")):
        with pytest.raises(DataError, match=rf"^texts\[1\] is {odd!r}, not a string"):
            explain_texts(bundle, ["bag", odd])
    with pytest.raises(TypeError, match=r"explain_texts\(\) takes a loaded Bundle, not PosixPath .*\(load_bundle\(path\)"):
        explain_texts(trained_run[0], ["bag"])
    assert [e.text for e in explain_texts(bundle, np.array(["lost bag", "crew"], dtype=object))] == ["lost bag", "crew"]


def test_the_shown_text_is_cut_and_says_how_much_the_model_read():
    from lstmtext.explain.attributions import read_as

    assert read_as("my bag is lost", 4) == "'my bag is lost' \u2192 4 token(s)"
    long = " ".join(["word"] * 2000)
    shown = read_as(long, 30)
    assert shown.endswith("\u2192 30 of its 2,000 words read (vocab.max_len; the others have no score)")
    assert len(shown) < 420  # not the whole text twice over
    from lstmtext.explain.attributions import Explanation

    # the server's /explain answer (and so the web page) says it too
    partial = Explanation(long, long, ["word"] * 30).to_dict()
    assert partial["note"] == "the model read 30 of the text's 2,000 words (vocab.max_len); the others have no score"
    assert "note" not in Explanation("my bag", "my bag", ["my", "bag"]).to_dict()


def test_an_explained_outputs_note_reaches_the_explanation(trained_run, monkeypatch):
    from lstmtext.tasks.prediction import ExplainedOutput

    bundle = Predictor.from_bundle(trained_run[0]).bundle
    why = "the most probable one"
    monkeypatch.setattr(type(bundle.task), "explained_outputs", lambda self, record: [ExplainedOutput("negative", 0, why)])
    ex = explain_texts(bundle, ["lost my bag"])[0]
    assert ex.targets[0].note == why and ex.to_dict()["targets"][0]["note"] == why
    # the targets a caller names, as (name, column) pairs: read as they were
    given = explain_texts(bundle, ["lost my bag"], outputs=[[("positive", 2)]])[0]
    assert (given.targets[0].name, given.targets[0].note) == ("positive", "")


def test_a_targets_note_is_its_own_field_beside_its_name():
    from lstmtext.explain.attributions import Explanation, TargetScores
    from lstmtext.server.schemas import ExplainResponse

    why = "no aspect is mentioned; the closest one"
    ex = Explanation("enak", "enak", ["enak"], [TargetScores("food=neutral", 0.6, [0.1], why)])
    answer = ex.to_dict()  # POST /explain's: the target was "food=neutral (no aspect is mentioned; the closest one)"
    assert answer["targets"] == [{"target": "food=neutral", "probability": 0.6, "scores": [0.1], "note": why}]
    assert ExplainResponse(**answer).targets[0].note == why
    plain = Explanation("enak", "enak", ["enak"], [TargetScores("food=positive", 0.6, [0.1])]).to_dict()
    assert "note" not in plain["targets"][0]


def test_a_long_panel_title_is_wrapped_not_cut():
    from lstmtext.explain.attributions import plot_title

    title = plot_title("kebersihan=neut", 0.571, "no aspect is mentioned; the closest one")
    assert title == "kebersihan=neut (0.57; no aspect is\nmentioned; the closest one)"
    assert plot_title("positive", 0.9) == "positive (0.90)"
