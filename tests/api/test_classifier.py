"""The Python API: real scikit-learn estimators (get/set_params, clone, cross_val_score, GridSearchCV, Pipeline,
CalibratedClassifierCV) for one label, several labels and aspects; save/load; one-line errors.

scikit-learn's own estimator checks generate numeric 2-D ``X``; for an estimator whose tags say "1-D strings"
``parametrize_with_checks`` yields no check at all, so the checks that do not need numeric data are run here by
name (``API_CHECKS``), and the data checks are written again with texts below (fit returns self, parameters
untouched by fit, unfitted use raises NotFittedError, ``classes_`` order, probabilities sum to one, a fixed
``random_state`` repeats). The numeric ones (NaN/inf handling, sparse input, ``n_features_in_``, dtype
coercion, 2-D feature names) do not apply to text input.
"""

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, MultiLabelBinarizer
from sklearn.utils import estimator_checks

from lstmtext.classifier import AspectClassifier, MultiLabelTextClassifier, TextClassifier
from lstmtext.errors import ConfigError, DataError, NotFittedError

TEXTS = ["great flight thanks", "lovely crew great", "thanks awesome", "best crew ever"] * 3 + \
        ["delayed again awful", "lost my bag", "rude staff worst", "cancelled again"] * 3
LABELS = ["pos"] * 12 + ["neg"] * 12
FAST = dict(hidden_size=16, embedding_dim=16, epochs=30, batch_size=8, lr=0.03, preprocess="plain",
            overrides={"model.embed_dropout": 0.0, "train.monitor": "valid_loss"})
API_CHECKS = ["check_estimator_cloneable", "check_estimator_repr", "check_no_attributes_set_in_init",
              "check_do_not_raise_errors_in_init_or_set_params", "check_mixin_order", "check_valid_tag_types",
              "check_get_params_invariance", "check_set_params", "check_parameters_default_constructible"]


def _clf(**kw):
    return TextClassifier(preset=None, random_state=0, **{**FAST, **kw})


@pytest.mark.parametrize("estimator", [TextClassifier(), MultiLabelTextClassifier(), AspectClassifier()],
                         ids=lambda e: type(e).__name__)
@pytest.mark.parametrize("check", API_CHECKS)
def test_scikit_learn_api_checks(estimator, check):
    getattr(estimator_checks, check)(type(estimator).__name__, estimator)


def test_each_estimator_starts_from_the_preset_and_cleaning_the_command_line_gives():
    """MultiLabelTextClassifier() trained the single-label default (an LSTM, one member) where train --task multilabel
    trains the multilabel preset; preprocess="lowercase" was an unknown preset where --preprocess lowercase is that
    step (structure review)."""
    from lstmtext.pipeline.options import run_config

    for estimator, task in ((TextClassifier(), None), (MultiLabelTextClassifier(), "multilabel"),
                            (AspectClassifier(), "absa")):
        ours, cli = estimator.resolve_config(), run_config(task=task)
        assert ours.model == cli.model and ours.train == cli.train and ours.preprocess == cli.preprocess
    assert MultiLabelTextClassifier().resolve_config().model.ensemble > 1  # the multilabel preset's cnn x 5
    for value in ("lowercase", "lowercase,strip_urls", "en-tweet"):
        assert TextClassifier(preprocess=value).resolve_config().preprocess == \
            run_config(set_=None, preprocess=value).preprocess


def test_fit_predict_save_load(tmp_path):
    clf = _clf()
    assert clf.fit(TEXTS, LABELS, valid_texts=TEXTS, valid_labels=LABELS) is clf
    assert list(clf.classes_) == ["neg", "pos"]
    assert clf.score(TEXTS, LABELS) == 1.0
    proba = clf.predict_proba(["great crew", "lost bag"])
    assert proba.shape == (2, 2) and np.allclose(proba.sum(1), 1)
    assert clf.records(["great crew"])[0].label == "pos"
    clf.save(tmp_path / "m")
    again = TextClassifier.load(tmp_path / "m")
    assert np.array_equal(again.predict_proba(TEXTS), clf.predict_proba(TEXTS))
    assert clf.get_params()["hidden_size"] == 16 and clf.epochs == 30  # fit leaves the parameters alone


def test_integer_labels_keep_their_type_and_numeric_order():
    y = [10] * 12 + [2] * 12  # sorted as numbers: 2 < 10 (as strings "10" < "2")
    clf = _clf().fit(TEXTS, y)
    assert clf.classes_.tolist() == [2, 10] and clf.predict(["lost my bag"]).tolist() == [2]
    assert clf.predict_proba(["lost my bag"])[0].argmax() == 0


def test_integer_labels_survive_a_valid_set_and_save_load(tmp_path):
    y = [10] * 12 + [2] * 12
    clf = _clf().fit(TEXTS, y, valid_texts=TEXTS[:4] + TEXTS[-4:], valid_labels=[10] * 4 + [2] * 4)
    assert clf.classes_.tolist() == [2, 10]
    loaded = TextClassifier.load(clf.save(tmp_path / "m"))
    assert loaded.classes_.tolist() == [2, 10] and isinstance(loaded.classes_[0].item(), int)
    assert loaded.predict(["lost my bag"]).tolist() == [2] and loaded.score(TEXTS, y) == clf.score(TEXTS, y)


def test_a_loaded_model_keeps_its_hyperparameters_for_clone_and_refit(tmp_path):
    clf = _clf(epochs=2).fit(TEXTS, LABELS)
    loaded = TextClassifier.load(clf.save(tmp_path / "m"))
    params = loaded.get_params()
    assert params["preset"] is None and (params["hidden_size"], params["epochs"], params["random_state"]) == (16, 2, 0)
    assert "model.hidden_size" not in params["overrides"] and params["overrides"]["train.monitor"] == "valid_loss"
    again = clone(loaded).resolve_config()
    assert again.model.hidden_size == 16 and again.train.epochs == 2 and again.train.lr == 0.03
    assert again.model.model_dump() == clf.config_.model.model_dump()
    # the arguments are the loaded model's own, so set_params changes what a refit trains (a grid search on it)
    changed = clone(loaded).set_params(lr=0.01, epochs=3, random_state=5).resolve_config()
    assert (changed.train.lr, changed.train.epochs, changed.train.seed, changed.data.split_seed) == (0.01, 3, 5, 5)
    assert changed.lm.seed == 5  # a language model's seed too: two random_states had pretrained the same one


def test_an_argument_and_an_override_of_the_same_key_are_refused():
    with pytest.raises(ConfigError, match=r"^TextClassifier: lr=0\.01 and overrides\['train\.lr'\]=0\.002 both set "
                                          r"train\.lr\. Give it once"):
        TextClassifier(lr=0.01, overrides={"train.lr": 0.002}).resolve_config()
    with pytest.raises(ConfigError, match=r"random_state=3 and overrides\['train\.seed'\]=1 both set train\.seed"):
        TextClassifier(random_state=3, overrides={"train.seed": 1}).resolve_config()
    with pytest.raises(ConfigError, match=r"random_state=3 and overrides\['lm\.seed'\]=1 both set lm\.seed"):
        TextClassifier(random_state=3, overrides={"lm.seed": 1}).resolve_config()


def test_a_config_whose_seeds_random_state_cannot_give_keeps_them_as_overrides():
    from lstmtext.classifier.base import _arguments
    from lstmtext.config import build_config

    old = build_config("ulmfit", overrides=["train.seed=0", "data.split_seed=0"])  # saved before lm.seed followed
    args = _arguments(old)
    assert "random_state" not in args and args["overrides"]["train.seed"] == 0
    again = TextClassifier(preset="ulmfit", **args).resolve_config()
    assert (again.train.seed, again.data.split_seed, again.lm.seed) == (0, 0, 42)
    # without a language model its lm.seed is nothing to keep: random_state, so that set_params(random_state=) works
    plain = build_config("default", overrides=["train.seed=5", "data.split_seed=5"])
    assert _arguments(plain)["random_state"] == 5 and "train.seed" not in _arguments(plain)["overrides"]
    assert clone(TextClassifier(**_arguments(plain))).set_params(random_state=7).resolve_config().train.seed == 7
    now = build_config("default", overrides=["train.seed=3", "data.split_seed=3", "lm.seed=3"])
    assert _arguments(now)["random_state"] == 3 and not {"train.seed", "lm.seed"} & set(_arguments(now)["overrides"])


def test_random_state_takes_a_numpy_random_state():
    cfg = TextClassifier(random_state=np.random.RandomState(0)).resolve_config()
    assert cfg.train.seed == cfg.data.split_seed == np.random.RandomState(0).randint(np.iinfo(np.int32).max)
    with pytest.raises(ConfigError, match=r"random_state: an int, a numpy RandomState or None\. Got 'x'\."):
        TextClassifier(random_state="x").resolve_config()


def test_valid_texts_without_labels_is_one_line():
    with pytest.raises(DataError, match=r"give valid_texts and valid_labels together"):
        _clf().fit(TEXTS, LABELS, valid_texts=TEXTS[:4])


def test_clone_cross_val_score_grid_search_pipeline_and_calibration():
    clf = _clf(epochs=8)
    fresh = clone(clf)
    assert fresh.get_params() == clf.get_params() and not hasattr(fresh, "classes_")
    assert fresh.set_params(epochs=3).epochs == 3
    scores = cross_val_score(clf, TEXTS, LABELS, cv=3)
    assert scores.shape == (3,) and (scores >= 0.5).all()
    grid = GridSearchCV(clf, {"lr": [0.03, 0.001]}, cv=2).fit(TEXTS, LABELS)
    assert grid.best_params_["lr"] in (0.03, 0.001) and grid.predict(["lost my bag"])[0] == "neg"
    pipe = make_pipeline(FunctionTransformer(lambda xs: [x.upper() for x in xs]),
                         _clf(epochs=8, preprocess="en-tweet")).fit(TEXTS, LABELS)
    assert pipe.score(TEXTS, LABELS) >= 0.9
    calibrated = CalibratedClassifierCV(FrozenEstimator(clf.fit(TEXTS, LABELS))).fit(TEXTS, LABELS)
    proba = calibrated.predict_proba(["great crew", "lost bag"])
    assert proba.shape == (2, 2) and np.allclose(proba.sum(1), 1)


def test_a_fixed_random_state_repeats():
    a, b = _clf(epochs=3).fit(TEXTS, LABELS), _clf(epochs=3).fit(TEXTS, LABELS)
    np.testing.assert_array_equal(a.predict_proba(TEXTS), b.predict_proba(TEXTS))


def test_multilabel_estimator_with_an_indicator_matrix():
    sets = [["praise"]] * 12 + [["complaint", "baggage"] if "bag" in t else ["complaint"] for t in TEXTS[12:]]
    binarizer = MultiLabelBinarizer()
    y = binarizer.fit_transform(sets)
    clf = MultiLabelTextClassifier(preset=None, random_state=0, **FAST).fit(TEXTS, y)
    assert clf.classes_.tolist() == [0, 1, 2]  # the indicator columns
    assert clf.predict(TEXTS).shape == y.shape and clf.score(TEXTS, y) == 1.0  # subset accuracy
    assert binarizer.inverse_transform(clf.predict(["lost my bag"])) == [("baggage", "complaint")]
    named = MultiLabelTextClassifier(preset=None, random_state=0, **FAST).fit(TEXTS, sets)
    assert named.classes_.tolist() == ["baggage", "complaint", "praise"]
    numbered = MultiLabelTextClassifier(preset=None, random_state=0, **FAST).fit(TEXTS, [[len(s)] for s in sets])
    assert numbered.classes_.tolist() == [1, 2]  # int labels stay ints, as TextClassifier's and MultiLabelBinarizer's
    assert named.score(TEXTS, sets) == clf.score(TEXTS, y) == 1.0  # the label lists fit took score too
    assert named.score(TEXTS[:2], [["praise"], ["complaint"]]) == 0.5
    with pytest.raises(DataError, match=r"y: label 'refund' is not one the model learned \(baggage, complaint, praise\)"):
        named.score(TEXTS[:1], [["refund"]])


def test_aspect_estimator_with_one_column_per_aspect():
    y = pd.DataFrame({"crew": ["pos"] * 12 + ["neg"] * 12,
                      "bag": ["none"] * 12 + ["neg" if "bag" in t else "none" for t in TEXTS[12:]]})
    clf = AspectClassifier(preset=None, random_state=0, **FAST).fit(TEXTS, y)
    assert clf.aspects_ == ["crew", "bag"] and [c.tolist() for c in clf.classes_] == [["neg", "pos"], ["neg", "none"]]
    assert clf.predict(["lost my bag"]).tolist() == [["neg", "neg"]] and clf.score(TEXTS, y) == 1.0
    proba = clf.predict_proba(["lost my bag"])
    assert [p.shape for p in proba] == [(1, 2), (1, 2)]
    flipped = y[["bag", "crew"]]  # a DataFrame's columns are matched by name, in score and in fit's valid labels
    assert clf.score(TEXTS, flipped) == 1.0
    again = AspectClassifier(preset=None, random_state=0, **FAST).fit(TEXTS, y, valid_texts=TEXTS, valid_labels=flipped)
    assert again.score(TEXTS, y) == 1.0 and again.bundle_.metrics["valid"]["flat_macro_f1"] == 1.0
    assert clf.score(TEXTS, y.rename(columns={"bag": "seat"})) == 1.0  # names that are not the aspects: by position
    from sklearn.exceptions import NotFittedError as SklearnNotFitted

    with pytest.raises(SklearnNotFitted):
        AspectClassifier().score(["a"], [["pos"]])


def test_not_fitted():
    with pytest.raises(NotFittedError, match="not fitted yet. Call 'fit'"):
        TextClassifier().predict(["x"])
    from sklearn.exceptions import NotFittedError as SklearnNotFitted

    with pytest.raises(SklearnNotFitted):
        MultiLabelTextClassifier().predict_proba(["x"])


def test_bad_input_is_one_line():
    with pytest.raises(DataError, match="3 texts but 2 labels"):
        TextClassifier().fit(["a", "b", "c"], ["x", "y"])
    with pytest.raises(DataError, match="text 1 is empty or not a string"):
        TextClassifier().fit(["a", 3], ["x", "y"])
    with pytest.raises(DataError, match=r"text 1 is empty or not a string \(' '\)"):
        TextClassifier().fit(["a", " "], ["x", "y"])
    with pytest.raises(DataError, match=r"^fit\(\): X holds no texts\."):
        TextClassifier().fit([], [])
    with pytest.raises(DataError, match=r"^y: one value \('pos'\), not one label per text\. .* of 2 labels\.$"):
        TextClassifier().fit(["a", "b"], "pos")
    with pytest.raises(DataError, match=r"^y: shape \(2, 2\), .*use MultiLabelTextClassifier.*AspectClassifier\.$"):
        TextClassifier().fit(["a", "b"], np.array([["x", "x"], ["y", "y"]]))  # it said "2 texts but 2 labels"
    with pytest.raises(ConfigError, match=r"^overrides: a dict of config keys, .*Got list \['model.pooling=max'\]"):
        TextClassifier(overrides=["model.pooling=max"]).fit(["a", "b"], ["x", "y"])
    # a missing label is no class: multi-label and aspect labels had learnt 'None' and 'nan' as ones
    with pytest.raises(DataError, match=r"^y: row 1 holds a missing label \(nan\)\. Drop it from the list"):
        MultiLabelTextClassifier().fit(["a", "b"], [["x"], ["y", float("nan")]])
    with pytest.raises(DataError, match=r"^y: row 1, aspect 'bag' is missing\. Give every aspect a label"):
        AspectClassifier().fit(["a", "b"], pd.DataFrame({"crew": ["pos", "neg"], "bag": ["neg", None]}))


def test_a_blank_text_is_answered_as_the_predictor_answers_it():
    clf = _clf(epochs=2).fit(TEXTS, LABELS)
    proba = clf.predict_proba(["lost my bag", "", "  "])  # one blank text no longer fails the whole batch
    np.testing.assert_allclose(proba[1:], clf.predictor_.predict_proba(["", "  "]))
    assert [r.no_known_word for r in clf.records(["lost my bag", ""])] == [False, True]
    with pytest.raises(DataError, match=r"^X: text 1 is not a string \(None\)\. Remove or fill it\.$"):
        clf.predict(["ok", None])
    with pytest.raises(DataError, match=r"expected a sequence of texts .* shape \(2, 2\)"):
        TextClassifier().fit(np.zeros((2, 2)), ["x", "y"])
    with pytest.raises(DataError, match="holds only 0 and 1"):
        MultiLabelTextClassifier().fit(["a", "b"], np.array([[0, 2], [1, 0]]))
    with pytest.raises(DataError, match=r"^y: row 0 is 'ac_neg\|wifi_pos', not a list of labels\. .*y\.str\.split"):
        MultiLabelTextClassifier().fit(["a", "b"], ["ac_neg|wifi_pos", "ac_pos"])  # trained on its characters before
    with pytest.raises(ConfigError, match=r"^TextClassifier\(\.\.\.\) arguments .*unknown key 'train\.epoch'"):
        TextClassifier(overrides={"train.epoch": 1}).fit(TEXTS, LABELS)  # named as the argument, not the preset


def test_api_errors_name_the_arguments_not_the_command_line_options(tmp_path, caplog):
    with pytest.raises(ConfigError, match=r"^preset='defualt': no such preset\."):
        TextClassifier("defualt").fit(TEXTS, LABELS)
    from lstmtext.errors import in_python_terms

    said = in_python_terms(DataError("a split lstmtext made: another data.split_seed, or your own with --split-col or "
                                     "--valid/--test), or fix it. Leave it out of --aspects or add rows"))
    assert str(said) == ("a split lstmtext made: another random_state, or your own with valid_texts= and valid_labels=), "
                         "or fix it. Leave its column out of y or add rows")
    said = in_python_terms(ConfigError("x: Drop --preset (the saved model's config is used); pass --task, --text-col "
                                       "or --label-col to read it otherwise."))
    assert str(said) == "x: Drop --preset (the saved model's config is used); pass --task, --text-col or --label-col " \
                        "to read it otherwise."  # options the API has no argument for are left as they are
    said = in_python_terms(ConfigError("--pretrained lm: the language model was trained with the cleaning en-tweet, but "
                                       "this run's is plain. Leave the cleaning out (--preprocess, a config file's "
                                       "[preprocess] section; the model's is then used) or pretrain one."))
    assert str(said) == ("train.pretrained lm: the language model was trained with the cleaning en-tweet, but this run's "
                         "is plain. Leave the cleaning out (preprocess= and overrides' preprocess.* keys; the model's is "
                         "then used) or pretrain one.")
    with pytest.raises(DataError, match=r"a classifier needs at least two\. Check the labels \(y\)\.$"):
        TextClassifier(**FAST).fit(TEXTS, ["x"] * len(TEXTS))
    clf = TextClassifier(**{**FAST, "epochs": 1}).fit(TEXTS, LABELS)
    small = [r.getMessage() for r in caplog.records if "the valid split holds" in r.getMessage()]
    assert small and all(m.endswith(("a larger valid file (valid_texts= and valid_labels=), or a larger valid_size=",
                                     "valid split: valid_texts= and valid_labels= (a larger one where one was given), "
                                     "or a larger valid_size=; or lower train.calibrate_min_texts to fit on these few "
                                     "(a temperature fitted on few texts fits their noise)."))
                         for m in small)
    clf.save(tmp_path / "m")
    with pytest.raises(Exception, match=r"Pass overwrite=True to replace it") as err:
        clf.save(tmp_path / "m")
    assert "--" not in str(err.value)


def test_from_pretrained_downloads_a_repo_id_only_when_it_is_no_local_folder(tmp_path, monkeypatch):
    import sys
    import types

    saved = _clf(epochs=3).fit(TEXTS, LABELS).save_pretrained(tmp_path / "m")
    asked = []
    fake = types.ModuleType("huggingface_hub")
    fake.snapshot_download = lambda repo_id, revision=None: asked.append((repo_id, revision)) or str(saved)
    monkeypatch.setitem(sys.modules, "huggingface_hub", fake)
    local = TextClassifier.from_pretrained(saved)
    assert asked == [] and local.classes_.tolist() == ["neg", "pos"]  # a local folder never asks the hub
    remote = TextClassifier.from_pretrained("someone/tweets", revision="v1")
    assert asked == [("someone/tweets", "v1")] and remote.predict(["lost my bag"])[0] == "neg"
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # the extra is not installed
    from lstmtext.errors import BundleError

    with pytest.raises(BundleError, match=r"^someone/other: no such folder here; read as a Hugging Face Hub repo id, it "
                                          r"needs the optional extra: pip install 'lstmtext\[hub\]'\.$"):
        TextClassifier.from_pretrained("someone/other")
    monkeypatch.setitem(sys.modules, "huggingface_hub", fake)
    with pytest.raises(BundleError, match=r"^models/tweets: no such folder\. Give a folder written by save\(\)"):
        TextClassifier.load("models/tweets")  # load never asks the hub: a mistyped path is not someone's repo
    assert asked == [("someone/tweets", "v1")]
    from lstmtext import Predictor

    with pytest.raises(TypeError, match=r"Predictor.from_bundle\(path\) or lstmtext.load_predictor\(path\)"):
        Predictor(str(saved))


def test_a_config_files_valid_size_is_kept_unless_the_argument_is_given(tmp_path):
    from lstmtext import TextClassifier

    path = tmp_path / "c.toml"
    path.write_text("[data]\nvalid_size = 0.3\nsplit_seed = 7\n[train]\nepochs = 3\n")
    cfg = TextClassifier(config=path).resolve_config()
    assert (cfg.data.valid_size, cfg.data.split_seed, cfg.train.epochs) == (0.3, 7, 3)
    assert TextClassifier(config=path, valid_size=0.2).resolve_config().data.valid_size == 0.2
    assert TextClassifier().resolve_config().data.valid_size == 0.1


def test_a_loaded_model_saved_again_keeps_its_model_card(trained_run, tmp_path):
    from lstmtext import TextClassifier

    card = (trained_run[0] / "model" / "README.md").read_text(encoding="utf-8")
    assert card.count("\n") > 20  # metadata and a body
    saved = TextClassifier.load(trained_run[0]).save(tmp_path / "again")
    assert (saved / "README.md").read_text(encoding="utf-8") == card


def test_build_config_takes_overrides_as_strings_or_a_dict():
    from lstmtext import build_config

    as_dict = build_config("default", overrides={"train.epochs": 1, "model.pooling": "max"})
    assert as_dict == build_config("default", overrides=["train.epochs=1", "model.pooling=max"])
    assert (as_dict.train.epochs, as_dict.model.pooling) == (1, "max")
    with pytest.raises(ConfigError, match=r"^overrides\['train.epochz'\]: unknown key 'train.epochz'. Did you mean"):
        build_config("default", overrides={"train.epochz": 1})
    with pytest.raises(ConfigError, match=r"^overrides: a list of 'section.key=value' strings or a dict, not the string"):
        build_config("default", overrides="train.epochs=1")  # was read character by character: "--set 't'"
    from pathlib import Path  # a path as config= takes it: "input should be a valid string" before

    assert build_config("ulmfit", overrides={"train.pretrained": Path("lm")}).train.pretrained == "lm"


def test_labels_are_checked_as_scikit_learn_checks_them():
    with pytest.raises(DataError, match=r"^y: label 2 is missing\. Give every text a label\.$"):  # trained on '<NA>'
        TextClassifier().fit(["a", "b", "c"], pd.Series(["x", "y", pd.NA], dtype="string"))
    with pytest.raises(DataError, match=r"^y: labels mix numbers and strings \(label 0 is 1, label 1 is '1'\)\. "):
        TextClassifier().fit(["a", "b"], [1, "1"])  # one class before, '1'
    with pytest.raises(DataError, match=r"^y: label 1 is 1\.5: continuous values are a regression target"):
        TextClassifier().fit(["a", "b"], [0.0, 1.5])  # trained, then score() failed
    with pytest.raises(DataError, match=r"^y \(aspect 'bag'\): labels mix numbers and strings"):
        AspectClassifier().fit(["a", "b"], pd.DataFrame({"crew": [1, 0], "bag": [1, "0"]}))
    clf = _clf(epochs=2).fit(TEXTS, [1] * 12 + [2.0] * 12)  # 1 and 1.0 are one class, as numpy's
    assert clf.classes_.tolist() == [1.0, 2.0] and clf.predict_proba(TEXTS[:1]).shape == (1, 2)
    labels, _ = AspectClassifier()._labels(pd.DataFrame({"crew": pd.Series([1, 1.0, -1, -1], dtype=object)}), 4)
    assert labels == [("1.0",), ("1.0",), ("-1.0",), ("-1.0",)]  # one class, as TextClassifier makes them


def test_aspect_labels_come_back_as_given():
    y = pd.DataFrame({"crew": [1] * 12 + [-1] * 12, "bag": [0] * 12 + [-1 if "bag" in t else 0 for t in TEXTS[12:]]})
    clf = AspectClassifier(preset=None, random_state=0, **FAST).fit(TEXTS, y)
    assert [c.tolist() for c in clf.classes_] == [[-1, 1], [-1, 0]]  # were '-1', '1'
    from sklearn.metrics import accuracy_score

    assert clf.predict(["lost my bag"]).tolist() == [[-1, -1]]
    assert accuracy_score(y["crew"], clf.predict(TEXTS)[:, 0]) == 1.0  # "Mix of label input types" before
    assert clf.score(TEXTS, y) == 1.0


def test_the_predictor_reads_tables_and_iterators_as_the_estimators_do():
    clf = _clf(epochs=2).fit(TEXTS, LABELS)
    predictor, texts = clf.predictor_, TEXTS[:3]
    want = predictor.predict_proba(texts)
    for given in (lambda: pd.DataFrame({"t": texts}), lambda: np.array(texts, dtype=object)[:, None],
                  lambda: (t for t in texts), lambda: pd.Series(texts, index=[5, 9, 2])):
        np.testing.assert_array_equal(predictor.predict_proba(given()), want)  # a DataFrame gave 1 row, for "t"
        np.testing.assert_array_equal(clf.predict_proba(given()), clf.predict_proba(texts))
    with pytest.raises(DataError, match=r"^texts: a dict, whose keys would be read as the texts\."):
        predictor.predict_proba({"a": "dog"})
    with pytest.raises(DataError, match=r"^texts: expected a sequence of texts .* DataFrame of shape \(3, 2\) \(columns t, u\)"):
        predictor.predict_proba(pd.DataFrame({"t": texts, "u": texts}))
    np.testing.assert_array_equal(predictor.predict_proba({t: 0 for t in texts}.keys()), want)  # views, sets: read
    np.testing.assert_array_equal(clf.predict_proba([[t] for t in texts]), clf.predict_proba(texts))  # rows of one
    with pytest.raises(DataError, match=r"^X: one string \('great flight'\), not a sequence of texts: pass \[text\]"):
        clf.predict("great flight")  # it said "an array of shape ()"
    from lstmtext.inference.predictor import Predictor

    for bad in (0, -1, "8", True):
        with pytest.raises(ConfigError, match=r"^batch_size: a whole number of texts per forward pass, at least 1\."):
            Predictor(clf.bundle_, batch_size=bad)


def test_fit_leaves_torchs_random_stream_as_it_was():
    import torch

    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    _clf(epochs=1).fit(TEXTS, LABELS)
    assert torch.equal(torch.rand(3), expected)  # fit had reseeded it from random_state


def test_a_multilabel_column_with_no_text_is_learnt_as_absent(caplog):
    from scipy.sparse import csr_matrix

    sets = [["praise"]] * 12 + [["complaint"]] * 12
    y = MultiLabelBinarizer(classes=["praise", "complaint", "refund"]).fit_transform(sets)  # 'refund' on no text
    clf = MultiLabelTextClassifier(preset=None, random_state=0, **FAST).fit(TEXTS, csr_matrix(y))  # sparse too
    assert clf.classes_.tolist() == [0, 1, 2] and clf.predict(TEXTS)[:, 2].sum() == 0  # refused before
    assert clf.score(TEXTS, y) == clf.score(TEXTS, csr_matrix(y)) == 1.0  # sparse y in score too (a ValueError)
    assert any(r.getMessage() == "y: column 2 has no text with its label, so the model learns it as absent (it answers "
               "it for no text)." for r in caplog.records)
    scores = cross_val_score(MultiLabelTextClassifier(preset=None, random_state=0, **{**FAST, "epochs": 2}),
                             TEXTS, np.c_[y[:, :2], np.eye(24, dtype=int)[:, :1]], cv=2)  # label 2 in one fold only
    assert len(scores) == 2 and np.isfinite(scores).all()


def test_python_wording_of_the_split_and_multilabel_messages(tmp_path):
    with pytest.raises(DataError, match=r"too few for a stratified split .* or give the valid set yourself "
                                        r"\(valid_texts= and valid_labels=\)\.$"):
        TextClassifier().fit(TEXTS[:6], ["a"] * 5 + ["b"])
    # every class has rows enough, but 10% of 20 rows is fewer rows than there are classes (a cross_val_score fold):
    # it blamed a class of 6 rows (sklearn estimator review)
    with pytest.raises(DataError, match=r"^fit\(\) arguments: 20 rows split 10% valid leave 2 rows in the valid split, "
                                        r"fewer than the 3 classes a stratified split puts in each\. Set a larger "
                                        r"valid_size=, give the valid set yourself \(valid_texts= and valid_labels=\), "
                                        r"or add rows\.$"):
        TextClassifier().fit([f"text {i}" for i in range(20)], ["a"] * 7 + ["b"] * 7 + ["c"] * 6)
    from lstmtext.errors import OutputExistsError, in_python_terms

    said = in_python_terms(DataError("d: 3 duplicate (text, label) rows kept (--set data.drop_duplicates=true, or "
                                     "train's --drop-duplicates, drops them before splitting)"))
    assert str(said) == "d: 3 duplicate (text, label) rows kept (overrides={'data.drop_duplicates': True} drops them " \
                        "before splitting)"
    import lstmtext

    cfg = lstmtext.build_config(None, overrides=["train.epochs=1", "model.hidden_size=8", "model.embedding_dim=8"])
    data = TEXTS, LABELS
    csv = tmp_path / "d.csv"
    pd.DataFrame({"text": data[0], "label": data[1]}).to_csv(csv, index=False)
    lstmtext.run(cfg, csv, tmp_path / "run", progress=False)
    with pytest.raises(OutputExistsError, match=r"a trained model is already there\. Pass overwrite=True to replace "
                                                r"it, or another out_dir\.$"):
        lstmtext.run(cfg, csv, tmp_path / "run", progress=False)
    six = tmp_path / "six.csv"  # run() has no valid_texts=: its messages name its files and config keys
    pd.DataFrame({"text": TEXTS[:6], "label": ["a"] * 3 + ["b"] * 3}).to_csv(six, index=False)
    with pytest.raises(DataError, match=r"six\.csv: 6 rows split 10% valid, 10% test hold out 2, with 1 of class 'a': too "
                                        r"few to share between valid and test\. .* give a split column "
                                        r"\(data\.split_col\), or add rows\.$"):
        lstmtext.run(cfg, six, tmp_path / "run6", progress=False)
    wrong = cfg.model_copy(update={"data": cfg.data.model_copy(update={"text_col": "review"})})
    with pytest.raises(DataError, match=r"no column 'review' \(given by data\.text_col\)\. .*Set data\.text_col to "
                                        r"the right name\.$"):
        lstmtext.run(wrong, csv, tmp_path / "run7", progress=False)


def _ml(**kw):
    return MultiLabelTextClassifier(preset=None, random_state=0, **{**FAST, **kw})


def test_multilabel_numbers_are_in_numeric_order_as_multilabelbinarizer_has_them():
    """[[10], [2], [2, 10]] gave classes_ [10, 2] (the names' order): score against MultiLabelBinarizer's [2, 10]
    columns was 0.333 for a model right on every text."""
    y = [[10]] * 12 + [[2, 10] if "bag" in t else [2] for t in TEXTS[12:]]
    clf = _ml().fit(TEXTS, y)
    binarizer = MultiLabelBinarizer()
    matrix = binarizer.fit_transform(y)
    assert clf.classes_.tolist() == binarizer.classes_.tolist() == [2, 10]
    assert clf.score(TEXTS, y) == clf.score(TEXTS, matrix) == 1.0
    assert np.array_equal(clf.predict(TEXTS), matrix)
    proba = clf.predict_proba(["lost my bag", "thanks awesome"])
    assert proba[0].round().tolist() == [1, 1] and proba[1].round().tolist() == [0, 1]  # columns in classes_ order


def test_a_list_of_0_1_rows_is_an_indicator_matrix_and_widths_are_checked():
    """A list of 0/1 rows was learnt as the label sets {0, 1}; a valid or scored matrix of another width was read."""
    y = [[1, 0, 0]] * 12 + [[0, 1, 1] if "bag" in t else [0, 1, 0] for t in TEXTS[12:]]
    clf = _ml().fit(TEXTS, y)
    assert clf.classes_.tolist() == [0, 1, 2] and clf.predict(TEXTS).shape == (24, 3)
    assert clf.score(TEXTS, y) == clf.score(TEXTS, np.asarray(y)) == 1.0
    with pytest.raises(DataError, match=r"^y: a matrix of shape \(24, 2\); the model has 3 labels, so give 3 columns "):
        clf.score(TEXTS, np.asarray(y)[:, :2])
    with pytest.raises(DataError, match=r"^valid_labels: 2 columns where y has 3\. Give the valid texts' labels"):
        _ml().fit(TEXTS, np.asarray(y), valid_texts=TEXTS, valid_labels=np.asarray(y)[:, :2])
    assert _ml().fit(TEXTS, [[0]] * 12 + [[1]] * 12).classes_.tolist() == [0, 1]  # one number a row: label lists


def test_a_failed_refit_keeps_the_fitted_models_label_types(tmp_path):
    """A refit that failed had replaced the label values, so save wrote the int labels back as strings."""
    y = [10] * 12 + [2] * 12
    clf = _clf().fit(TEXTS, y)
    with pytest.raises(DataError):
        clf.fit(TEXTS, ["a"] * 23 + ["b"])  # a class of one row cannot be split
    loaded = TextClassifier.load(clf.save(tmp_path / "m"))
    assert loaded.classes_.tolist() == [2, 10] and isinstance(loaded.classes_[0].item(), int)


@pytest.mark.parametrize("content", ["{not json", '{"x": 1}', "[1, 2]", '{"label_values": [[1, 2]]}'])
def test_a_corrupt_estimator_file_is_a_bundle_error(tmp_path, content):
    from lstmtext.errors import BundleError

    path = _clf().fit(TEXTS, [10] * 12 + [2] * 12).save(tmp_path / "m")
    (path / "estimator.json").write_text(content)
    with pytest.raises(BundleError, match=r"estimator\.json: not the label values lstmtext writes \(corrupt or "
                                          r"edited\)\. Re-save the model, or delete the file"):
        TextClassifier.load(path)


def test_run_and_load_predictor_refuse_bad_arguments_in_one_line(trained_run):
    import lstmtext

    for config in ({"train": {"epochs": 1}}, "default"):
        with pytest.raises(ConfigError, match=r"^config: a Config, as lstmtext\.build_config\(preset, overrides="):
            lstmtext.run(config)
    model = trained_run[0] / "model"
    for key, value in (("threads", -1), ("threads", 0), ("batch_size", 0), ("batch_size", 2.5)):
        with pytest.raises(ConfigError, match=rf"^{key}: a whole number of .*, at least 1, or None for the default\. "
                                              rf"Got {value!r}\.$"):
            lstmtext.load_predictor(model, "torch", **{key: value})


def test_a_loaded_column_layout_model_keeps_the_files_column_order(tmp_path):
    """Sorting classes_ for number labels (above) had sorted a file's 0/1 columns too: zeta, alpha, mid came back as
    alpha, mid, zeta, and predict's columns with them (the diff review found it)."""
    import lstmtext

    frame = pd.DataFrame({"text": TEXTS, "zeta": [int("great" in t) for t in TEXTS],
                          "alpha": [int("bag" in t) for t in TEXTS], "mid": [int(i >= 12) for i in range(24)]})
    frame.to_csv(tmp_path / "cols.csv", index=False)
    cfg = lstmtext.build_config("multilabel", overrides=["train.epochs=1", "model.ensemble=1",
                                                         "multilabel.layout=\"columns\"",
                                                         'multilabel.labels=["zeta", "alpha", "mid"]'])
    lstmtext.run(cfg, tmp_path / "cols.csv", tmp_path / "run", progress=False)
    loaded = MultiLabelTextClassifier.load(tmp_path / "run" / "model")
    assert loaded.classes_.tolist() == ["zeta", "alpha", "mid"]
    proba = loaded.predict_proba(TEXTS[:3])
    assert np.array_equal(proba, loaded.predictor_.predict_proba(TEXTS[:3]))  # the task's columns, as they are


def test_0_1_rows_as_floats_or_booleans_are_an_indicator_matrix_too():
    y = [[1, 0, 0]] * 12 + [[0, 1, 1] if "bag" in t else [0, 1, 0] for t in TEXTS[12:]]
    clf = _ml()
    for rows in ([[float(v) for v in row] for row in y], [[bool(v) for v in row] for row in y],
                 list(np.asarray(y, dtype=bool))):
        assert clf._is_matrix(rows)  # as a label list each would have been the labels 0 and 1 (or False and True)
    assert not clf._is_matrix([["a", "b"], ["b", "a"]]) and not clf._is_matrix([[0, 2], [1, 0]])


@pytest.mark.parametrize("content", ['{"label_values": [["a", [1, 2]], ["b", 3]]}', '{"label_values": {"ab": 1}}'])
def test_estimator_label_values_are_checked_whole(tmp_path, content):
    from lstmtext.errors import BundleError

    path = _clf().fit(TEXTS, [10] * 12 + [2] * 12).save(tmp_path / "m")
    (path / "estimator.json").write_text(content)
    with pytest.raises(BundleError, match=r"estimator\.json: not the label values lstmtext writes"):
        TextClassifier.load(path)


def test_a_setting_the_architecture_does_not_read_is_warned_about():
    with pytest.warns(UserWarning, match=r"^TextClassifier: hidden_size=999: the 'cnn' architecture does not read "
                                         r"model\.hidden_size, so it changes nothing\.$"):
        TextClassifier("cnn", hidden_size=999).resolve_config()
    with pytest.warns(UserWarning, match=r"overrides\['model\.pooling'\]: the 'cnn' architecture does not read"):
        TextClassifier("cnn", overrides={"model.pooling": "mean"}).resolve_config()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        TextClassifier("default", hidden_size=64).resolve_config()  # an LSTM reads it: no warning
    y = pd.DataFrame({"crew": ["pos"] * 12 + ["neg"] * 12, "bag": ["neg"] * 12 + ["pos"] * 12})
    with pytest.warns(UserWarning) as said:  # fit: said once (its aspect reading resolved the config again), here
        AspectClassifier(preset=None, model="cnn", random_state=0, **{**FAST, "epochs": 1}).fit(TEXTS, y)
    assert len(said) == 1 and said[0].filename == __file__


def test_a_seed_out_of_range_and_an_unordered_set_are_refused():
    for bad in (-1, 2**32):
        with pytest.raises(ConfigError, match=rf"^random_state: an int from 0 to 2\*\*32 - 1, .* Got {bad}\.$"):
            TextClassifier(random_state=bad).resolve_config()
    with pytest.raises(ConfigError, match=r"train\.seed input should be greater than or equal to 0"):
        TextClassifier(overrides={"train.seed": -1}).resolve_config()
    # a training seed is torch's, 64 bits: a model saved with a large one still loads, and the folds take it mod 2**32
    from lstmtext.experiments.cv import fold_rows

    assert TextClassifier(overrides={"train.seed": 2**40}).resolve_config().train.seed == 2**40
    assert fold_rows(None, 10, 2, 2**40 + 7, 0.2) == fold_rows(None, 10, 2, 7, 0.2)
    with pytest.raises(DataError, match=r"^fit\(\): X is a set, which has no order"):
        _clf().fit(set(TEXTS), LABELS)  # trained on texts paired with the wrong labels


def test_a_multilabel_tables_columns_name_its_labels(tmp_path):
    sets = [["praise"]] * 12 + [["complaint", "baggage"] if "bag" in t else ["complaint"] for t in TEXTS[12:]]
    binarizer = MultiLabelBinarizer()
    table = pd.DataFrame(binarizer.fit_transform(sets), columns=["bag", "gripe", "praise"])
    clf = MultiLabelTextClassifier(preset=None, random_state=0, **FAST).fit(TEXTS, table)
    assert clf.classes_.tolist() == ["bag", "gripe", "praise"]  # they were 0, 1, 2: the server answered '0', '2'
    assert clf.score(TEXTS, table) == 1.0
    assert sorted(clf.records(["lost my bag"])[0].to_dict()["labels"]) == ["bag", "gripe"]
    clf.save(tmp_path / "m")
    assert MultiLabelTextClassifier.load(tmp_path / "m").classes_.tolist() == ["bag", "gripe", "praise"]
    shuffled = table[["praise", "bag", "gripe"]]  # valid labels by name, in another order
    again = MultiLabelTextClassifier(preset=None, random_state=0, **FAST).fit(TEXTS, table, valid_texts=TEXTS,
                                                                               valid_labels=shuffled)
    assert again.score(TEXTS, table) == 1.0
    with pytest.raises(DataError, match=r"^y: the column 'bag' is there twice\. Give each label one column\.$"):
        MultiLabelTextClassifier(preset=None, **FAST).fit(TEXTS, table.set_axis(["bag", "bag", "praise"], axis=1))


def test_a_matrix_with_numbered_columns_keeps_their_order_and_score_matches_columns_by_name(tmp_path):
    """A DataFrame y with columns 10, 2, 1 had classes_, predict and predict_proba re-sorted to 1, 2, 10: score and
    cross_val_score read them against y's columns by position (0.47 where the model was right); a DataFrame whose
    columns came in another order was scored by position too (sklearn estimator review)."""
    words = {10: "alpha", 2: "bravo", 1: "charlie"}
    rows = [[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]] * 4
    texts = [" ".join(words[c] for c, on in zip(words, row) if on) + " flight" for row in rows]
    y = pd.DataFrame(rows, columns=[10, 2, 1])
    clf = MultiLabelTextClassifier(preset=None, random_state=0, **FAST).fit(texts, y)
    assert clf.classes_.tolist() == [10, 2, 1]  # y's columns, in y's order
    assert clf.predict(texts).tolist() == rows and clf.score(texts, y) == 1.0
    assert clf.predict_proba(["alpha flight"])[0].argmax() == 0
    assert clf.score(texts, y[[1, 2, 10]]) == 1.0  # matched by name
    loaded = MultiLabelTextClassifier.load(clf.save(tmp_path / "m"))
    assert loaded.classes_.tolist() == [10, 2, 1] and loaded.score(texts, y) == 1.0  # the order is saved too
    lists = [[c for c, on in zip(words, row) if on] for row in rows]  # label lists: numbers in numeric order
    assert MultiLabelTextClassifier(preset=None, random_state=0, **FAST).fit(texts, lists).classes_.tolist() == [1, 2, 10]


def test_overrides_cannot_change_the_estimators_task(tmp_path):
    """overrides={"task": "multilabel"} trained a TextClassifier as a multi-label model of the label names' letters;
    "absa" ended in a KeyError traceback (sklearn estimator review)."""
    for task in ("multilabel", "absa"):
        with pytest.raises(ConfigError, match=r"^overrides\['task'\]: TextClassifier trains the 'classify' task; for "
                                              r"another, use its estimator"):
            _clf(overrides={"task": task}).fit(TEXTS, LABELS)
    # a saved model of another task as config=: it was refused for that task's monitor, "with --task classify"
    import json

    from lstmtext.config import build_config

    saved = tmp_path / "ml"
    saved.mkdir()
    (saved / "config.json").write_text(json.dumps(build_config(None, extra={"task": "multilabel"}).model_dump(mode="json")))
    with pytest.raises(ConfigError, match=r"^config='.*ml' is a saved 'multilabel' model's config and TextClassifier "
                                          r"trains the 'classify' task\. Use the 'multilabel' task's estimator"):
        _clf(config=saved).fit(TEXTS, LABELS)
    # a TOML file takes the estimator's task, as train --task does with init-config's file (task = "classify")
    (tmp_path / "c.toml").write_text('task = "classify"\n')
    assert MultiLabelTextClassifier(config=tmp_path / "c.toml").resolve_config().task == "multilabel"


def test_a_loaded_model_refits_without_warnings_about_settings_no_one_gave(tmp_path, recwarn):
    """A loaded cnn model put every preset setting into overrides, those its architecture does not read too, and a
    GridSearchCV over it warned 15 times that model.bidirectional etc. change nothing (sklearn estimator review)."""
    saved = TextClassifier("cnn", random_state=0, epochs=1, hidden_size=8, embedding_dim=8).fit(TEXTS, LABELS)
    loaded = TextClassifier.load(saved.save(tmp_path / "cnn"))
    recwarn.clear()
    again = clone(loaded).fit(TEXTS, LABELS)
    assert not [w for w in recwarn if "changes nothing" in str(w.message)]
    assert np.allclose(again.predict_proba(TEXTS), saved.predict_proba(TEXTS))  # the same model all the same
    # and it continues the saved model (warm start): its unread settings are at their defaults now, which the warm
    # start's check had counted as another model (diff review)
    warm = clone(loaded).set_params(overrides={**loaded.overrides, "train.init_from": str(tmp_path / "cnn")})
    assert warm.fit(TEXTS, LABELS).config_.train.init_from == str(tmp_path / "cnn")


def test_aspect_classes_are_sorted_as_the_other_estimators_are():
    """Each aspect's classes_ of integer labels came in their names' order (-1, 10, 2); TextClassifier and
    np.unique give -1, 2, 10 (sklearn estimator review). predict_proba's columns follow classes_."""
    y = np.array([[10 if "great" in t or "best" in t else (2 if "thanks" in t else -1), 1 if "bag" in t else 0]
                  for t in TEXTS])
    clf = AspectClassifier(preset=None, random_state=0, **FAST).fit(TEXTS, y)
    assert [c.tolist() for c in clf.classes_] == [[-1, 2, 10], [0, 1]]
    proba = clf.predict_proba(TEXTS)
    picked = np.stack([c[p.argmax(1)] for c, p in zip(clf.classes_, proba)], 1)
    assert (picked == clf.predict(TEXTS)).all() and clf.score(TEXTS, y) == 1.0


def test_estimators_refuse_an_aspect_named_twice_and_a_label_holding_the_separator():
    """AspectClassifier(aspects=["food", "food"]) ended in an IndexError traceback, and a multi-label estimator took
    a label 'staff|crew' that every CSV output would read back as two (diff review: the file checks did not cover
    the estimators)."""
    y = pd.DataFrame({"crew": ["pos"] * 12 + ["neg"] * 12, "bag": ["neg"] * 6 + ["none"] * 18})
    with pytest.raises(DataError, match=r"^aspects: the aspect 'food' is named twice\. Name each aspect once\.$"):
        AspectClassifier(preset=None, aspects=["food", "food"], **FAST).fit(TEXTS, y)
    with pytest.raises(DataError, match=r"^y: the label 'staff\|crew' holds '\|', which joins a text's labels"):
        MultiLabelTextClassifier(preset=None, **FAST).fit(TEXTS, pd.DataFrame({"late": [1, 0] * 12, "staff|crew": [0, 1] * 12}))
    with pytest.raises(DataError, match=r"^y: the label 'staff\|crew' holds '\|'"):
        MultiLabelTextClassifier(preset=None, **FAST).fit(TEXTS, [["late"], ["staff|crew"]] * 12)
