"""Seed ensembles (`model.ensemble = N`): averaged probabilities, member seeds, save/reload, refusals."""

import json

import numpy as np
import pytest
import torch

from helpers import ABSA_WIDE as ABSA_TINY
from helpers import TINY_OVERRIDES, Interrupt, interrupting
from lstmtext.config import ModelConfig, build_config
from lstmtext.encoding.batching import predict_logits
from lstmtext.errors import ConfigError
from lstmtext.models import OutputLayout, build_model
from lstmtext.models.ensemble import EnsembleClassifier
from lstmtext.training.members import member_config


class _Fixed(torch.nn.Module):
    """A stand-in member that returns fixed logits (one tensor, or a list for several heads)."""

    def __init__(self, out):
        super().__init__()
        self.out = out

    def forward(self, ids, lengths):
        return self.out


def test_the_outputs_probabilities_are_the_mean_of_the_members_probabilities():
    a, b = torch.tensor([[2.0, 0.0, -1.0]]), torch.tensor([[0.0, 3.0, 0.0]])
    one = OutputLayout((3,))
    out = EnsembleClassifier([_Fixed(a), _Fixed(b)], one)(None, None)
    expected = (a.softmax(1) + b.softmax(1)) / 2
    assert torch.allclose(out.softmax(1), expected, atol=1e-6) and torch.allclose(out.exp(), expected, atol=1e-6)
    groups = OutputLayout((3, 2))  # two heads side by side: a softmax over each
    x, y = torch.cat([a, a[:, :2]], 1), torch.cat([b, b[:, :2]], 1)
    heads = EnsembleClassifier([_Fixed(x), _Fixed(y), _Fixed(torch.cat([b, a[:, :2]], 1))], groups)(None, None)
    assert torch.allclose(heads[:, :3].exp(), (a.softmax(1) + 2 * b.softmax(1)) / 3, atol=1e-6)
    assert torch.allclose(heads[:, 3:].exp(), (2 * a[:, :2].softmax(1) + b[:, :2].softmax(1)) / 3, atol=1e-6)
    sigmoids = OutputLayout((3,), "sigmoid")  # multi-label: each label's probability averaged on its own
    out = EnsembleClassifier([_Fixed(a), _Fixed(b)], sigmoids)(None, None)
    assert torch.allclose(out.sigmoid(), (a.sigmoid() + b.sigmoid()) / 2, atol=1e-6)
    with pytest.raises(ValueError, match="at least two members"):
        EnsembleClassifier([_Fixed(a)], one)


def test_members_get_consecutive_seeds_and_one_model_each():
    cfg = build_config(None, overrides=["model.ensemble=3", "train.seed=7"])
    assert [member_config(cfg, i).train.seed for i in range(3)] == [7, 8, 9]
    assert member_config(cfg, 2).model.ensemble == 1 and cfg.model.ensemble == 3  # the original is untouched
    top = build_config(None, overrides=["model.ensemble=2", f"train.seed={2**64 - 1}"])  # torch's largest seed
    assert [member_config(top, i).train.seed for i in range(2)] == [2**64 - 1, 0]  # wraps: it had overflowed in torch
    with pytest.raises(ConfigError, match="model.ensemble"):
        build_config(None, overrides=["model.ensemble=0"])


def test_built_ensemble_has_independent_members_and_ignores_padding():
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="bilstm", embedding_dim=8, hidden_size=6, ensemble=2), 30, 3).eval()
    assert isinstance(model, EnsembleClassifier) and len(model.members) == 2
    w0, w1 = (m.embedding.weight for m in model.members)
    assert not torch.equal(w0, w1)
    seqs = [[2, 3, 4], [5], [6, 7, 8, 9, 10]]
    together = predict_logits(model, seqs, batch_size=3)
    alone = torch.cat([predict_logits(model, [s], batch_size=1) for s in seqs])
    assert torch.allclose(together, alone, atol=1e-5)


def test_ensemble_run_trains_each_member_saves_and_reloads(tiny_path, tmp_path, capsys):
    from lstmtext.inference.predictor import Predictor
    from lstmtext.pipeline import run

    cfg = build_config(None, overrides=[*TINY_OVERRIDES, "model.ensemble=3", "train.seed=5"])
    result = run(cfg, tiny_path, tmp_path / "ens", progress=False)
    members = result.summary["members"]
    assert [m["seed"] for m in members] == [5, 6, 7] and result.summary["ensemble"] == 3
    assert result.metrics["valid"]["accuracy"] >= 0.5
    predictor = Predictor.from_bundle(tmp_path / "ens")
    texts = ["worst airline ever", "thank you so much"]
    proba = predictor.predict_proba(texts)
    # the bundle's probabilities are the mean of its members' probabilities
    model, enc = predictor.model, predictor.encoder
    members = [predict_logits(m, enc.encode(texts)).softmax(1) for m in model.members]
    temperature = predictor.task.state["temperatures"][0]  # calibrated on valid after training
    expected = torch.softmax(torch.stack(members).mean(0).log() / temperature, 1)
    assert np.allclose(proba, expected.numpy(), atol=1e-6)
    from lstmtext.pipeline.evaluate import evaluate_file

    test_rows = [line for line in tiny_path.read_text().splitlines()[1:] if line.endswith(",test")]
    (tmp_path / "test.csv").write_text("text,label,split\n" + "\n".join(test_rows) + "\n")
    reloaded = evaluate_file(tmp_path / "ens", tmp_path / "test.csv")  # the saved ensemble scores as trained
    assert reloaded["accuracy"] == pytest.approx(result.metrics["test"]["accuracy"])
    config = json.loads((tmp_path / "ens" / "model" / "config.json").read_text())["lstmtext"]
    assert config["model"]["ensemble"] == 3
    # the same seed gives the same ensemble; with progress shown each member's epoch lines are headed by it
    again = run(cfg, tiny_path, None, progress=True)
    assert again.metrics["valid"] == result.metrics["valid"]
    said = [line for line in capsys.readouterr().err.splitlines() if line.startswith("ensemble member")]
    assert said == ["ensemble member 1 of 3 (seed 5)", "ensemble member 2 of 3 (seed 6)", "ensemble member 3 of 3 (seed 7)"]
    from lstmtext.explain.gates import check_explainable
    from lstmtext.inference.bundle import load_bundle

    with pytest.raises(ConfigError, match="is an ensemble of 3 'lstm' models; the gate view reads one LSTM .*without --units"):
        check_explainable(load_bundle(tmp_path / "ens"))


def test_aspect_ensemble_saves_and_reloads(tmp_path):
    from lstmtext.inference.predictor import Predictor
    from lstmtext.pipeline import run

    overrides = ['data.split_col="split"', 'preprocess.preset="plain"', "vocab.num_words=100",
                 "model.embedding_dim=8", "model.hidden_size=8", "train.epochs=3", "model.ensemble=2",
                 'absa.head="attention"', "absa.attention_size=4"]
    result = run(build_config("absa", overrides=overrides), ABSA_TINY, tmp_path / "a", progress=False)
    assert len(result.summary["members"]) == 2
    from lstmtext.pipeline.evaluate import evaluate_file

    test_rows = [line for line in ABSA_TINY.read_text().splitlines()[1:] if line.endswith(",test")]
    (tmp_path / "test.csv").write_text("text,food,service,price,split\n" + "\n".join(test_rows) + "\n")
    reloaded = evaluate_file(tmp_path / "a", tmp_path / "test.csv")  # the saved ensemble scores as trained
    assert reloaded["flat_macro_f1"] == pytest.approx(result.metrics["test"]["flat_macro_f1"])
    predictor = Predictor.from_bundle(tmp_path / "a")
    proba = predictor.predict_proba(["harga mahal sekali", "pelayan ramah"])
    assert all(np.allclose(proba[:, s].sum(1), 1.0, atol=1e-5) for s in predictor.task.layout.slices())


def test_ensemble_is_refused_with_streaming(tiny_path, tmp_path):
    from lstmtext.pipeline import run

    cfg = build_config(None, overrides=[*TINY_OVERRIDES, "model.ensemble=2"])
    with pytest.raises(ConfigError, match="cannot be combined with --stream"):
        run(cfg, tiny_path, tmp_path / "s", progress=False, stream=True)


def test_ensemble_checkpoints_each_member_and_resumes(tiny_path, tmp_path):
    from lstmtext.inference.predictor import Predictor
    from lstmtext.pipeline import run

    cfg = build_config(None, overrides=[*TINY_OVERRIDES, "model.ensemble=2", "train.epochs=4"])
    first = run(cfg, tiny_path, tmp_path / "r", progress=False)
    assert sorted(p.name for p in (tmp_path / "r" / "checkpoint").iterdir()) == ["member0", "member1"]
    texts = ["worst airline ever", "thank you so much"]
    before = Predictor.from_bundle(tmp_path / "r").predict_proba(texts)
    again = run(cfg, tiny_path, tmp_path / "r", progress=False, resume=True)
    assert [m["best_epoch"] for m in again.summary["members"]] == [m["best_epoch"] for m in first.summary["members"]]
    assert np.allclose(Predictor.from_bundle(tmp_path / "r").predict_proba(texts), before, atol=1e-6)


def test_ensemble_resumes_when_interrupted_before_its_last_member_started(tiny_path, tmp_path, monkeypatch):
    from lstmtext.inference.predictor import Predictor
    from lstmtext.pipeline import run

    cfg = build_config(None, overrides=[*TINY_OVERRIDES, "model.ensemble=2", "train.epochs=3"])
    whole = run(cfg, tiny_path, tmp_path / "whole", progress=False)
    restore = interrupting(monkeypatch, lambda record: record["epoch"] == 2)  # in member 0
    with pytest.raises(Interrupt):
        run(cfg, tiny_path, tmp_path / "r", progress=False)
    restore()
    assert sorted(p.name for p in (tmp_path / "r" / "checkpoint").iterdir()) == ["member0"]
    again = run(cfg, tiny_path, tmp_path / "r", progress=False, resume=True)
    assert again.summary["members"] == [{**m, "seconds": a["seconds"]} for m, a in
                                        zip(whole.summary["members"], again.summary["members"])]
    texts = ["worst airline ever", "thank you so much"]
    assert np.array_equal(Predictor.from_bundle(tmp_path / "r").predict_proba(texts),
                          Predictor.from_bundle(tmp_path / "whole").predict_proba(texts))


def test_a_member_whose_save_was_killed_between_its_renames_resumes(tiny_path, tmp_path, monkeypatch, caplog):
    # its last complete checkpoint sat aside as .member0.XXXXXXXX.old; the member was taken for one never started and
    # trained again from its first epoch
    from lstmtext.pipeline import run

    cfg = build_config(None, overrides=[*TINY_OVERRIDES, "model.ensemble=2", "train.epochs=3"])
    restore = interrupting(monkeypatch, lambda record: record["epoch"] == 2)  # in member 0
    with pytest.raises(Interrupt):
        run(cfg, tiny_path, tmp_path / "r", progress=False)
    restore()
    member = tmp_path / "r" / "checkpoint" / "member0"
    member.rename(member.parent / ".member0.a1b2c3d4.old")
    with caplog.at_level("INFO", logger="lstmtext.training.loop"):
        run(cfg, tiny_path, tmp_path / "r", progress=False, resume=True)
    assert "resuming after epoch 2 of 3" in caplog.text
