"""The linear n-gram bag (`model.ngram_bag = N`): its rows, its average, batch independence, save/reload."""

import numpy as np
import pytest
import torch

from helpers import TINY_OVERRIDES
from lstmtext.config import ModelConfig, build_config
from lstmtext.encoding.batching import predict_logits
from lstmtext.errors import ConfigError
from lstmtext.models import build_model
from lstmtext.models.ngram_bag import NgramBagClassifier, ngram_ids


def test_rows_are_unigram_ids_then_hashed_bigrams_inside_the_text():
    ids, lengths = torch.tensor([[5, 6, 7, 0], [8, 0, 0, 0]]), torch.tensor([3, 1])
    rows, mask = ngram_ids(ids, lengths, 2, vocab_size=10, buckets=1000)
    assert rows.shape == mask.shape == (2, 4 + 3)
    assert rows[:, :4].tolist() == ids.tolist()  # unigrams: the vocabulary ids
    assert rows[0, 4].item() == 10 + (5 + 6 * 1_000_003) % 1000  # bigram (5, 6) after the vocabulary rows
    assert mask.tolist() == [[True, True, True, False, True, True, False], [True, False, False, False, False, False, False]]
    assert 10 <= rows[:, 4:].min() and rows[:, 4:].max() < 1010
    # the order of the words matters, and a trigram gets rows of its own
    flipped, _ = ngram_ids(torch.tensor([[6, 5]]), torch.tensor([2]), 2, 10, 1000)
    assert flipped[0, 2] != rows[0, 4]
    three, three_mask = ngram_ids(ids, lengths, 3, 10, 1000)
    assert three.shape == (2, 4 + 3 + 2) and three_mask[0].tolist()[-2:] == [True, False]


def test_bag_is_the_mean_of_its_rows_and_starts_silent():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="lstm", embedding_dim=4, hidden_size=3, ngram_bag=2, ngram_buckets=1024), 20, 2)
    assert isinstance(model, NgramBagClassifier)
    model.eval()
    ids, lengths = torch.tensor([[3, 4, 5]]), torch.tensor([3])
    with torch.no_grad():
        assert torch.equal(model(ids, lengths), model.base(ids, lengths))  # zero weights: the base alone at first
        torch.nn.init.normal_(model.bag.weight)
        rows, _ = ngram_ids(ids, lengths, 2, 20, 1024)
        expected = model.bag.weight[rows[0]].mean(0)  # 3 unigrams + 2 bigrams
        assert torch.allclose(model.bag_logits(ids, lengths)[0], expected, atol=1e-6)
        assert torch.allclose(model(ids, lengths), model.base(ids, lengths) + expected, atol=1e-6)


def test_a_text_gets_the_same_output_whatever_its_batch():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="cnn", embedding_dim=6, hidden_size=5, ngram_bag=3, ngram_buckets=2048,
                                    options={"kernel_sizes": [2], "num_filters": 4}), 30, 3).eval()
    torch.nn.init.normal_(model.bag.weight)
    seqs = [[2, 3, 4], [5], [6, 7, 8, 9, 10]]
    together = predict_logits(model, seqs, batch_size=3)
    alone = torch.cat([predict_logits(model, [s], batch_size=1) for s in seqs])
    assert torch.allclose(together, alone, atol=1e-5)


def test_bag_learns_at_its_own_rate_and_dropout_is_for_training_only():
    model = build_model(ModelConfig(name="lstm", embedding_dim=4, hidden_size=3, ngram_bag=2, ngram_buckets=1024,
                                    ngram_lr=5.0, ngram_dropout=0.5), 20, 2)
    groups = model.param_groups(0.002)
    assert [g["lr"] for g in groups] == [0.002, 0.01] and groups[1]["params"][0] is model.bag.weight
    assert sum(p.numel() for g in groups for p in g["params"]) == sum(p.numel() for p in model.parameters())
    torch.nn.init.normal_(model.bag.weight)
    ids, lengths = torch.tensor([[3, 4, 5, 6, 7, 8]]), torch.tensor([6])
    model.eval()
    assert torch.equal(model.bag_logits(ids, lengths), model.bag_logits(ids, lengths))
    model.train()
    torch.manual_seed(1)
    draws = {tuple(model.bag_logits(ids, lengths)[0].tolist()) for _ in range(5)}
    assert len(draws) > 1


def test_bag_alone_overfits_a_tiny_set():
    """With the network's output layer at zero, the bag is logistic regression on n-grams and fits on its own."""
    from helpers import classify_objective
    from lstmtext.encoding.batching import EncodedSplit
    from lstmtext.training.loop import fit

    config = build_config(None, overrides=["model.name=\"lstm\"", "model.embedding_dim=4", "model.hidden_size=4",
                                           "model.ngram_bag=2", "model.ngram_buckets=1024", "train.epochs=40",
                                           "train.batch_size=2", "train.lr=0.01", "train.monitor=\"valid_loss\""])
    torch.manual_seed(0)
    model = build_model(config.model, 12, 2)
    for p in model.base.parameters():
        torch.nn.init.zeros_(p)
        p.requires_grad_(False)
    seqs, labels = [[2, 3], [3, 2], [4, 5, 2], [5, 4, 3]], [0, 1, 0, 1]  # (2, 3) vs (3, 2): only bigrams tell
    split = EncodedSplit(seqs, np.array(labels))
    result = fit(model, split, split, config.train, classify_objective(2), progress=False)
    assert result.history[-1]["train_accuracy"] == 1.0
    assert (predict_logits(model, seqs).argmax(1).numpy() == labels).all()


def test_the_bag_adds_to_every_output_group_of_a_several_head_model():
    from lstmtext.models import OutputLayout
    from lstmtext.models.heads import MultiHeadClassifier

    torch.manual_seed(0)
    model = build_model(ModelConfig(name="bilstm", ngram_bag=2, embedding_dim=8, hidden_size=6), 20,
                        OutputLayout((3, 2))).eval()
    assert isinstance(model, NgramBagClassifier) and isinstance(model.base, MultiHeadClassifier)
    ids, lengths = torch.tensor([[2, 3, 4], [5, 6, 0]]), torch.tensor([3, 2])
    with torch.no_grad():
        torch.nn.init.normal_(model.bag.weight)
        assert torch.allclose(model(ids, lengths), model.base(ids, lengths) + model.bag_logits(ids, lengths))
    assert model(ids, lengths).shape == (2, 5)
    with pytest.raises(ConfigError, match="model.ngram_bag"):
        build_config(None, overrides=["model.ngram_bag=4"])


def test_run_with_a_bag_trains_saves_and_reloads_the_same(tiny_path, tmp_path):
    from lstmtext.inference.predictor import Predictor
    from lstmtext.pipeline import run

    cfg = build_config(None, overrides=[*TINY_OVERRIDES, "model.name=\"bilstm\"", "model.ngram_bag=2",
                                        "model.ngram_buckets=4096"])
    result = run(cfg, tiny_path, tmp_path / "bag", progress=False)
    assert result.metrics["valid"]["accuracy"] >= 0.5
    predictor = Predictor.from_bundle(tmp_path / "bag")
    assert isinstance(predictor.model, NgramBagClassifier)
    assert predictor.model.bag.weight.abs().sum() > 0  # the bag was trained
    texts = ["worst airline ever", "thank you so much", "lost my bag again"]
    again = Predictor.from_bundle(tmp_path / "bag")
    assert np.array_equal(predictor.predict_proba(texts), again.predict_proba(texts))
    from lstmtext.pipeline.evaluate import evaluate_file

    test_rows = [line for line in tiny_path.read_text().splitlines()[1:] if line.endswith(",test")]
    (tmp_path / "test.csv").write_text("text,label,split\n" + "\n".join(test_rows) + "\n")
    reloaded = evaluate_file(tmp_path / "bag", tmp_path / "test.csv")  # the saved model scores as trained
    assert reloaded["macro_f1"] == pytest.approx(result.metrics["test"]["macro_f1"])
    again_run = run(cfg, tiny_path, None, progress=False)  # the same seed, the same scores
    assert again_run.metrics["valid"] == result.metrics["valid"]
    from lstmtext.explain.gates import check_explainable
    from lstmtext.inference.bundle import load_bundle

    with pytest.raises(ConfigError, match=r"adds a linear n-gram bag to its 'bilstm' model \(model.ngram_bag=2\)"):
        check_explainable(load_bundle(tmp_path / "bag"))
    from lstmtext.inference.onnx import check_parity, export_onnx

    path = export_onnx(tmp_path / "bag", tmp_path / "bag.onnx")  # the trained bag exports like any model
    diff, agree = check_parity(tmp_path / "bag", path)
    assert diff < 1e-4 and agree == 1.0


def _tfidf_bag(vocab=20, classes=2, n=2):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="lstm", embedding_dim=4, hidden_size=3, ngram_bag=n, ngram_buckets=1024,
                                    ngram_fit="after"), vocab, classes)
    assert isinstance(model, NgramBagClassifier) and model.weighting == "tfidf"
    return model.eval()


def test_tfidf_features_are_scikit_learns_and_the_forward_reads_them():
    """Counts x smoothed idf over the L2 norm: TfidfVectorizer's matrix (no repeated n-gram here); the bag's
    forward is those features times its weights plus its bias, so a fitted regression carries over exactly."""
    from sklearn.feature_extraction.text import TfidfVectorizer

    from lstmtext.training.ngram_fit import counts, features, idf_of

    model = _tfidf_bag()
    seqs = [[2, 3, 4], [3, 2], [4, 5, 6, 7], [2, 3], [9]]
    train_counts = counts(model, seqs)
    idf = idf_of(train_counts)
    x = features(train_counts, idf).toarray()
    grams = [[f"u{a}" for a in s] + [f"b{a}_{b}" for a, b in zip(s, s[1:])] for s in seqs]
    vec = TfidfVectorizer(analyzer=lambda g: g)
    expected = vec.fit_transform(grams).toarray()
    assert np.allclose(np.sort(x, 1)[:, -expected.shape[1]:], np.sort(expected, 1), atol=1e-12)
    assert np.allclose(sorted(idf[idf > 0]), sorted(vec.idf_))
    assert (idf[[0, 1, 8, 10, 11]] == 0).all()  # rows no training text has (padding, unknown, unused words)
    with torch.no_grad():
        model.idf.copy_(torch.as_tensor(idf))
        torch.nn.init.normal_(model.bag.weight)
        torch.nn.init.normal_(model.bias)
        got = predict_logits(model, seqs) - predict_logits(model.base, seqs)
    want = x @ model.bag.weight.double().numpy() + model.bias.double().numpy()
    assert np.allclose(got.numpy(), want, atol=1e-5)


def test_a_tfidf_bag_is_outside_the_optimizer_and_silent_until_fitted():
    model = _tfidf_bag()
    groups = model.param_groups(0.01)
    assert len(groups) == 1 and all(p is not model.bag.weight and p is not model.bias for p in groups[0]["params"])
    assert not model.bag.weight.requires_grad and not model.bias.requires_grad
    ids, lengths = torch.tensor([[3, 4, 5]]), torch.tensor([3])
    with torch.no_grad():
        assert torch.equal(model(ids, lengths), model.base(ids, lengths))


def _bigram_split():
    from lstmtext.encoding.batching import EncodedSplit

    rng = np.random.default_rng(0)
    seqs, labels = [], []
    for _ in range(120):  # the class is which of two words comes first; every text holds both
        a, b = (2, 3) if rng.random() < 0.5 else (3, 2)
        noise = rng.integers(4, 12, size=3).tolist()
        seqs.append(noise[:1] + [a, b] + noise[1:])
        labels.append(int(a == 3))
    return EncodedSplit(seqs[:80], np.array(labels[:80])), EncodedSplit(seqs[80:], np.array(labels[80:]))


def test_fit_after_blends_in_a_linear_model_that_reads_what_the_network_missed():
    from lstmtext.models import OutputLayout
    from lstmtext.training.ngram_fit import fit_after

    model = _tfidf_bag(vocab=12)
    for p in model.base.parameters():  # a network that learnt nothing: every text gets the same logits
        torch.nn.init.zeros_(p)
    train, valid = _bigram_split()
    y = torch.as_tensor(valid.targets)
    found = fit_after(model, OutputLayout((2,)), train, valid, lambda m: predict_logits(m, valid.sequences),
                      lambda logits: float((logits.argmax(1) == y).float().mean()))
    (member,) = found["members"]
    assert member["valid_scores"]["0.0"] == pytest.approx(float((y == 0).float().mean()))  # the network alone
    assert member["blend"] > 0 and member["valid_scores"][str(member["blend"])] == 1.0
    assert (predict_logits(model, valid.sequences).argmax(1) == y).all()
    assert model.idf[2] > 0 and model.idf[0] == 0  # fitted on the training texts' n-grams only


def test_the_saved_model_gives_the_blend_it_was_scored_as():
    """(1 - w) * network + w * linear, not that times 1 / (1 - w): ten times the logits at w = 0.9 had made
    every probability 1.0 where no temperature was fitted after (a valid split under 100 texts)."""
    from lstmtext.models import OutputLayout
    from lstmtext.training.ngram_fit import fit_after, silence

    model = _tfidf_bag(vocab=12)
    train, valid = _bigram_split()
    y = torch.as_tensor(valid.targets)
    network = predict_logits(model, valid.sequences)  # the bag is silent: the network alone
    nll = lambda logits: -float(torch.nn.functional.cross_entropy(logits, y))  # noqa: E731 - a scale-sensitive score
    found = fit_after(model, OutputLayout((2,)), train, valid, lambda m: predict_logits(m, valid.sequences), nll)
    w = found["members"][0]["blend"]
    assert w >= 0.5  # the linear model reads the word order the network missed
    saved = predict_logits(model, valid.sequences)
    assert nll(saved) == pytest.approx(found["members"][0]["valid_scores"][str(w)], abs=1e-4)
    assert float(model.base_scale) == pytest.approx(1 - w)  # the network's own weights are kept as they trained
    torch.testing.assert_close(predict_logits(model.base, valid.sequences), network)
    state = {k: v for k, v in model.state_dict().items() if k != "base_scale"}  # a bundle saved before base_scale
    older = _tfidf_bag(vocab=12)
    older.load_state_dict(state)
    assert float(older.base_scale) == 1.0
    silence(model)  # a warm start continues the network alone, at its whole share (it began at 0.1x at w = 0.9)
    torch.testing.assert_close(predict_logits(model, valid.sequences), network)


def test_fit_after_keeps_the_network_alone_when_the_linear_model_only_hurts():
    from lstmtext.models import OutputLayout
    from lstmtext.training.ngram_fit import fit_after

    model = _tfidf_bag(vocab=12)
    train, valid = _bigram_split()
    shuffled = type(train)(train.sequences, np.random.default_rng(1).permutation(train.targets))  # labels as noise
    before = predict_logits(model, valid.sequences)
    found = fit_after(model, OutputLayout((2,)), shuffled, valid, lambda m: predict_logits(m, valid.sequences),
                      lambda logits: -float(torch.nn.functional.cross_entropy(logits, torch.as_tensor(valid.targets))))
    assert found["members"][0]["blend"] == 0.0
    assert torch.equal(predict_logits(model, valid.sequences), before)  # alpha 0: the bag adds nothing


@pytest.mark.parametrize("task", ["classify", "absa", "multilabel"])
def test_run_with_ngram_fit_after_for_every_task_reloads_the_same(task, tiny_path, tmp_path):
    from helpers import ABSA_WIDE, MULTILABEL
    from lstmtext.inference.predictor import Predictor
    from lstmtext.pipeline import run

    data = {"classify": tiny_path, "absa": ABSA_WIDE, "multilabel": MULTILABEL}[task]
    extra = ['data.label_col="labels"', 'preprocess.preset="plain"'] if task == "multilabel" else []
    cfg = build_config(None, overrides=[*TINY_OVERRIDES, *extra, "train.epochs=3", "model.name=\"bilstm\"",
                                        "model.ngram_bag=2", "model.ngram_buckets=4096", "model.ngram_fit=\"after\""],
                       extra={"task": task})
    result = run(cfg, data, tmp_path / task, progress=False)
    assert any("TF-IDF + logistic regression" in note for note in result.summary["notes"])
    predictor = Predictor.from_bundle(tmp_path / task)
    bag = predictor.model
    assert isinstance(bag, NgramBagClassifier) and bag.weighting == "tfidf" and bag.idf.max() > 0
    texts = ["the crew was great", "harga mahal sekali", ""]
    trained = result.task.probabilities(predict_logits(result.model, result.encoder.encode(texts)))
    assert np.allclose(predictor.predict_proba(texts), trained, atol=1e-6)  # the saved model is the fitted one


def test_ngram_fit_after_is_refused_where_it_cannot_work():
    from lstmtext.pipeline.checks import check_run

    after = ["model.ngram_bag=2", "model.ngram_fit=\"after\""]
    with pytest.raises(ConfigError, match="--nproc"):
        check_run(build_config(None, overrides=after), shard=object())
    with pytest.raises(ConfigError, match="--stream"):
        check_run(build_config(None, overrides=after), data="x.csv", out_dir="out", stream=True)
    assert "model.ngram_bag=0" in build_config(None, overrides=["model.ngram_fit=\"after\""]).model.ineffective()[0]


def test_each_member_of_a_seed_ensemble_gets_the_regression_and_its_own_blend():
    from lstmtext.models import OutputLayout
    from lstmtext.models.ensemble import EnsembleClassifier
    from lstmtext.training.ngram_fit import fit_after

    members = [_tfidf_bag(vocab=12), _tfidf_bag(vocab=12)]
    for p in members[0].base.parameters():  # member 0 learnt nothing; member 1 keeps its random weights
        torch.nn.init.zeros_(p)
    model = EnsembleClassifier(members, OutputLayout((2,))).eval()
    train, valid = _bigram_split()
    y = torch.as_tensor(valid.targets)
    seen = []
    found = fit_after(model, OutputLayout((2,)), train, valid,
                      lambda m: seen.append(m) or predict_logits(m, valid.sequences),
                      lambda logits: float((logits.argmax(1) == y).float().mean()))
    assert len(found["members"]) == 2 and len(found["C"]) == 1
    assert [id(m) for m in seen] == [id(members[0]), id(members[1])]  # each member's own logits, one pass each
    assert found["members"][0]["valid_scores"] != found["members"][1]["valid_scores"]
    assert torch.equal(members[0].idf, members[1].idf) and members[0].idf.max() > 0  # one regression
    for member, record in zip(members, found["members"]):
        assert record["blend"] > 0
        assert (predict_logits(member, valid.sequences).argmax(1) == y).all()


def test_a_seed_ensemble_with_ngram_fit_after_trains_saves_and_reloads(tiny_path, tmp_path):
    from lstmtext.inference.predictor import Predictor
    from lstmtext.models.ensemble import EnsembleClassifier
    from lstmtext.pipeline import run

    cfg = build_config(None, overrides=[*TINY_OVERRIDES, "train.epochs=2", "model.ensemble=2", "model.ngram_bag=2",
                                        "model.ngram_buckets=4096", "model.ngram_fit=\"after\""])
    result = run(cfg, tiny_path, tmp_path / "ens", progress=False)
    assert len(result.summary["ngram_fit"]["members"]) == 2
    predictor = Predictor.from_bundle(tmp_path / "ens")
    assert isinstance(predictor.model, EnsembleClassifier)
    assert all(m.idf.max() > 0 for m in predictor.model.members)
    texts = ["the crew was great", "lost my bag", ""]
    trained = result.task.probabilities(predict_logits(result.model, result.encoder.encode(texts)))
    assert np.allclose(predictor.predict_proba(texts), trained, atol=1e-6)  # the saved model is the fitted one
