"""Training: reproducible with a seed, resumable to identical weights, early stopping restores the best."""

import pytest
import torch

from lstmtext.config import build_config
from lstmtext.data import load_data
from lstmtext.pipeline.run import train_model

from conftest import TINY_OVERRIDES


class Interrupt(Exception):
    pass


def _data(tiny_path, config):
    return load_data(tiny_path, config.data)


def test_same_seed_same_weights_and_metrics(tiny_path):
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=4", "model.embed_dropout=0.3"])
    runs = [train_model(config, _data(tiny_path, config), progress=False) for _ in range(2)]
    (m1, *_, r1), (m2, *_, r2) = runs
    assert r1.history == r2.history
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert torch.equal(a, b), k


def test_resume_after_interruption_gives_identical_weights(tiny_path, tmp_path, monkeypatch):
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=6", "model.embed_dropout=0.3",
                                                            "model.rnn_input_dropout=0.2"])
    full, *_ = train_model(config, _data(tiny_path, config), progress=False)

    import lstmtext.training.loop as trainer

    real_fit = trainer.fit

    def interrupted_fit(*args, **kwargs):
        def stop(record):
            if record["epoch"] == 3:
                raise Interrupt
        return real_fit(*args, **{**kwargs, "on_epoch_end": stop})

    monkeypatch.setattr("lstmtext.pipeline.run.fit", interrupted_fit)
    with pytest.raises(Interrupt):
        train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt", progress=False)
    monkeypatch.setattr("lstmtext.pipeline.run.fit", real_fit)
    torch.manual_seed(12345)  # a different global RNG state must not matter: the checkpoint restores it
    resumed, *_, result = train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt",
                                      resume=True, progress=False)
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5, 6]
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=0, rtol=0), k


def test_early_stopping_restores_best_epoch(tiny_path):
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=40", "train.patience=2",
                                                            "train.monitor=\"valid_loss\"", "train.lr=0.05"])
    model, encoder, labels, result = train_model(config, _data(tiny_path, config), progress=False)
    best = min(result.history, key=lambda h: h["valid_loss"])
    assert result.best_epoch == best["epoch"]
    assert len(result.history) <= 40
    if result.stopped_early:
        assert len(result.history) == result.best_epoch + 2


def test_class_weights_and_oversampling_run(tiny_path, caplog):
    import logging

    caplog.set_level(logging.INFO)
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=1", "train.class_weight=\"balanced\"",
                                                            "train.oversample=\"random\""])
    train_model(config, _data(tiny_path, config), progress=False)
    assert "random oversampling: class counts" in caplog.text
    assert "class weights (balanced)" in caplog.text
