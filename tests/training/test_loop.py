"""Training: reproducible with a seed, resumable to identical weights, early stopping restores the best."""

import json

import pytest
import torch

from helpers import TINY_OVERRIDES, Interrupt, interrupting
from lstmtext.config import build_config
from lstmtext.encoding.batching import predict_logits
from lstmtext.errors import BundleError, ConfigError
from lstmtext.pipeline.prepare import load_data, prepare
from lstmtext.pipeline.runner import fit_model


def train_model(config, data, **kwargs):
    """Prepare the data and fit as a run does: ``(model, train_result)``."""
    return fit_model(config, prepare(config, data), **kwargs)


def _data(tiny_path, config):
    return load_data(config, tiny_path)


def test_same_seed_same_weights_and_metrics(tiny_path):
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=4", "model.embed_dropout=0.3"])
    runs = [train_model(config, _data(tiny_path, config), progress=False) for _ in range(2)]
    (m1, r1), (m2, r2) = runs
    assert r1.history == r2.history
    for (k, a), (_, b) in zip(m1.state_dict().items(), m2.state_dict().items()):
        assert torch.equal(a, b), k


def test_resume_after_interruption_gives_identical_weights(tiny_path, tmp_path, monkeypatch):
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=6", "model.embed_dropout=0.3",
                                                            "model.rnn_input_dropout=0.2"])
    full, _ = train_model(config, _data(tiny_path, config), progress=False)

    restore = interrupting(monkeypatch, lambda record: record["epoch"] == 3)
    with pytest.raises(Interrupt):
        train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt", progress=False)
    restore()
    first_part = json.loads((tmp_path / "ckpt" / "state.json").read_text())["seconds"]
    torch.manual_seed(12345)  # a different global RNG state must not matter: the checkpoint restores it
    resumed, result = train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt",
                                      resume=True, progress=False)
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5, 6]
    assert result.seconds > first_part > 0  # the training time counts both parts
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.allclose(a, b, atol=0, rtol=0), k
    bigger = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=6", "model.hidden_size=24"])
    state = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    del state["settings"]  # as a checkpoint written before runs kept their settings: the weights' shapes tell
    (tmp_path / "ckpt" / "state.json").write_text(json.dumps(state))
    with pytest.raises(BundleError, match=r"ckpt: this checkpoint is from a run with another model or data \(.*size "
                                          r"mismatch.*\)\. Resume with the same command") as err:
        train_model(bigger, _data(tiny_path, bigger), checkpoint_dir=tmp_path / "ckpt", resume=True, progress=False)
    assert "\n" not in str(err.value)


def test_resume_refuses_other_settings_but_allows_more_epochs(tiny_path, tmp_path, monkeypatch):
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=4"])
    restore = interrupting(monkeypatch, lambda record: record["epoch"] == 2)
    with pytest.raises(Interrupt):
        train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt", progress=False)
    restore()
    faster = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=4", "train.lr=0.5", "train.batch_size=3"])
    with pytest.raises(BundleError, match=r"ckpt: --resume continues the run saved there, but this command sets "
                                          r"train\.batch_size = 3 \(the saved run: \d+; 1 more setting differs\)") as err:
        train_model(faster, _data(tiny_path, faster), checkpoint_dir=tmp_path / "ckpt", resume=True, progress=False)
    assert "\n" not in str(err.value)
    wider = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=4", "model.hidden_size=24"])
    with pytest.raises(BundleError, match=r"this command sets model\.hidden_size = 24 \(the saved run: \d+\)\."):
        train_model(wider, _data(tiny_path, wider), checkpoint_dir=tmp_path / "ckpt", resume=True, progress=False)
    fewer = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=1"])  # had trained on and said "1 epoch asked"
    with pytest.raises(ConfigError, match=r"ckpt: the checkpoint is after epoch 2, but train\.epochs is 1\. Resume with "
                                          r"train\.epochs of 2 or more\."):
        train_model(fewer, _data(tiny_path, fewer), checkpoint_dir=tmp_path / "ckpt", resume=True, progress=False)
    slanted = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=5"])
    assert slanted.train.schedule == "constant"  # more epochs continue a constant learning rate as it was
    _, result = train_model(slanted, _data(tiny_path, slanted), checkpoint_dir=tmp_path / "ckpt", resume=True,
                            progress=False)
    assert [h["epoch"] for h in result.history] == [1, 2, 3, 4, 5]


def test_a_slanted_schedule_is_not_resumed_with_more_epochs(tmp_path):
    from lstmtext.training.checkpoint import check_resumed_settings

    saved = build_config(None, overrides=["train.schedule=\"slanted\"", "train.epochs=4"]).model_dump(mode="json")
    longer = build_config(None, overrides=["train.schedule=\"slanted\"", "train.epochs=6"]).model_dump(mode="json")
    with pytest.raises(BundleError, match=r"sets train\.epochs = 6 \(the saved run: 4\)"):  # the ramp's length moved
        check_resumed_settings(tmp_path, saved, longer)
    check_resumed_settings(tmp_path, saved, {**saved, "train": {**saved["train"], "threads": 1}})


def test_resuming_a_run_that_stopped_early_trains_no_more(tiny_path, tmp_path, monkeypatch):
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=40", "train.patience=2",
                                                            "train.monitor=\"valid_loss\"", "train.lr=0.05"])
    full, done = train_model(config, _data(tiny_path, config), progress=False)
    assert done.stopped_early
    last = done.history[-1]["epoch"]
    restore = interrupting(monkeypatch, lambda record: record["epoch"] == last)  # killed after its last checkpoint
    with pytest.raises(Interrupt):
        train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt", progress=False)
    restore()
    resumed, result = train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt", resume=True,
                                  progress=False)
    assert result.history == done.history and result.stopped_early and result.best_epoch == done.best_epoch
    for (k, a), (_, b) in zip(full.state_dict().items(), resumed.state_dict().items()):
        assert torch.equal(a, b), k


def test_early_stopping_restores_the_best_epochs_weights(tiny_path):
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=40", "train.patience=2",
                                                            "train.monitor=\"valid_loss\"", "train.lr=0.05"])
    prepared = prepare(config, _data(tiny_path, config))
    model, result = fit_model(config, prepared, progress=False)
    best = min(result.history, key=lambda h: h["valid_loss"])
    assert result.best_epoch == best["epoch"]
    assert result.stopped_early and len(result.history) == result.best_epoch + 2 < 40
    # patience that runs out on the last epoch stops nothing: every epoch asked ran (it had said stopped early)
    exact = config.model_copy(update={"train": config.train.model_copy(update={"epochs": len(result.history)})})
    _, same = fit_model(exact, prepare(exact, _data(tiny_path, exact)), progress=False)
    assert same.history == result.history and not same.stopped_early
    assert result.history[-1]["valid_loss"] != best["valid_loss"]  # the last epoch is worse ...
    valid = prepared.splits["valid"]
    objective = prepared.task.objective(valid.targets, config.train)
    now = objective.summarize(predict_logits(model, valid.sequences), torch.from_numpy(valid.targets))
    assert now["loss"] == pytest.approx(best["valid_loss"], abs=1e-6)  # ... and the model is the best epoch's


def test_class_weights_and_oversampling_run(tiny_path, caplog):
    import logging

    caplog.set_level(logging.INFO)
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=1", "train.class_weight=\"balanced\"",
                                                            "train.oversample=\"random\""])
    train_model(config, _data(tiny_path, config), progress=False)
    assert "random oversampling: class counts" in caplog.text
    assert "class weights (balanced)" in caplog.text


def test_training_frees_the_backward_scratch_buffers(tiny_path):
    from lstmtext.models import onednn

    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=1"])
    onednn.workspace("probe", 4, 4, torch.zeros(1))
    train_model(config, _data(tiny_path, config), progress=False)
    assert "buffers" not in onednn._WORKSPACE.__dict__  # a notebook or server process does not keep them


def test_a_setting_that_cannot_act_is_warned_about(tiny_path):
    config = build_config(None, overrides=[*TINY_OVERRIDES, "model.dropout=0.3"])  # one layer: nothing between
    notes = prepare(config, _data(tiny_path, config)).notes
    assert any(n.startswith("model.dropout=0.3 does nothing with model.num_layers=1") for n in notes)
    two = build_config(None, overrides=[*TINY_OVERRIDES, "model.dropout=0.3", "model.num_layers=2"])
    assert not any("does nothing" in n for n in prepare(two, _data(tiny_path, two)).notes)


def test_batches_of_one_length_train_through_the_fused_kernel_reproducibly(tiny_path, monkeypatch):
    """train.bucket_chunks reaches the batcher; with 256 most batches have no padding and take the fused
    LSTM kernel, and the same seed still gives the same weights."""
    from lstmtext.models.packed import PackedRNN
    from lstmtext.training import loop

    chunks, dense = [], []
    real_batches, real_unpadded = loop.train_batches, PackedRNN._unpadded
    monkeypatch.setattr(loop, "train_batches", lambda *a: chunks.append(a[-1]) or real_batches(*a))
    monkeypatch.setattr(PackedRNN, "_unpadded", lambda self, *a, **k: dense.append(k.get("train", False))
                        or real_unpadded(self, *a, **k))
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=2", "train.batch_size=4",
                                                            "train.bucket_chunks=256", "model.name=lstm"])
    (m1, r1), (m2, r2) = [train_model(config, _data(tiny_path, config), progress=False) for _ in range(2)]
    assert set(chunks) == {256} and True in dense  # training batches through the fused kernel
    assert r1.history == r2.history
    assert all(torch.equal(a, b) for a, b in zip(m1.state_dict().values(), m2.state_dict().values()))


def test_a_checkpoint_from_before_a_setting_existed_resumes_with_its_default(tiny_path, tmp_path, monkeypatch):
    """A run saved before train.bucket_chunks existed trained with what is now its default (8): resuming with that
    works, and a preset that sets 256 is refused naming the saved 8, not None."""
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=3"])
    restore = interrupting(monkeypatch, lambda record: record["epoch"] == 1)
    with pytest.raises(Interrupt):
        train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt", progress=False)
    restore()
    state = json.loads((tmp_path / "ckpt" / "state.json").read_text())
    del state["settings"]["train"]["bucket_chunks"]  # as the older version wrote it
    (tmp_path / "ckpt" / "state.json").write_text(json.dumps(state))
    other = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=3", "train.bucket_chunks=256"])
    with pytest.raises(BundleError, match=r"sets train\.bucket_chunks = 256 \(the saved run: 8\)"):
        train_model(other, _data(tiny_path, other), checkpoint_dir=tmp_path / "ckpt", resume=True, progress=False)
    _, result = train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt", resume=True,
                            progress=False)
    assert [h["epoch"] for h in result.history] == [1, 2, 3]


@pytest.mark.parametrize("name", ["state.json", "last.safetensors", "optimizer.safetensors", "rng.safetensors"])
def test_a_checkpoint_file_cut_short_is_one_line(tiny_path, tmp_path, monkeypatch, name):
    """A truncated state.json or last.safetensors (a full disk) gave a JSONDecodeError or SafetensorError traceback."""
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=3"])
    restore = interrupting(monkeypatch, lambda record: record["epoch"] == 1)
    with pytest.raises(Interrupt):
        train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt", progress=False)
    restore()
    path = tmp_path / "ckpt" / name
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(BundleError) as err:
        train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt", resume=True, progress=False)
    assert str(err.value).startswith(f"{path} is corrupt or unreadable (") and str(err.value).endswith(
        "). Start again with --overwrite (the checkpoint cannot be resumed).") and "\n" not in str(err.value)


def test_resume_on_other_data_is_refused(tiny_path, tmp_path, monkeypatch):
    """train --resume checked the settings and the weights' shapes, not the data: another file of the same columns
    and vocabulary size continued the run silently."""
    from dataclasses import replace

    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=3"])
    restore = interrupting(monkeypatch, lambda record: record["epoch"] == 1)
    with pytest.raises(Interrupt):
        train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt", progress=False)
    restore()
    data = _data(tiny_path, config)
    train = data.splits["train"]
    flipped = replace(data, splits={**data.splits, "train": replace(train, labels=train.labels[::-1])})
    with pytest.raises(BundleError, match=r"ckpt: --resume continues a run trained on other data \(its training or "
                                          r"valid texts, or their labels, differ from this command's\)\. Resume with "
                                          r"the same data, or start again with --overwrite\.$"):
        train_model(config, flipped, checkpoint_dir=tmp_path / "ckpt", resume=True, progress=False)
    longer = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=3", "vocab.max_len=3"])
    with pytest.raises(BundleError, match=r"this command sets vocab\.max_len = 3"):  # a setting: named, not "other data"
        train_model(longer, _data(tiny_path, longer), checkpoint_dir=tmp_path / "ckpt", resume=True, progress=False)
    _, result = train_model(config, _data(tiny_path, config), checkpoint_dir=tmp_path / "ckpt", resume=True,
                            progress=False)  # the same data resumes
    assert [h["epoch"] for h in result.history] == [1, 2, 3]


def test_a_diverged_run_stops_in_one_line(tiny_path):
    """lr 1e30 without clipping: the valid loss was nan from epoch 1, training went on, and the report ended in a
    traceback on nan probabilities (training review)."""
    config = build_config(None, overrides=TINY_OVERRIDES + ["train.epochs=3", "train.lr=1e30",
                                                            "train.clip_grad_norm=none"])
    # the training loss of epoch 1 is a huge number on some CPUs and already nan on others (an Intel Xeon with AMX)
    with pytest.raises(ConfigError, match=r"^training diverged: after epoch 1 the training loss is ([\d.e+]+|nan|inf) and the "
                                          r"valid loss nan \(train\.lr = 1e\+30, no train\.clip_grad_norm\)\. Lower"):
        train_model(config, _data(tiny_path, config), progress=False)
