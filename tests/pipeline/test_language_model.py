"""`lstmtext pretrain` and classifiers that start from a language model (train.pretrained, train.pretrain)."""

from __future__ import annotations

import json
import re

import pytest
import torch
from safetensors.torch import load_file
from typer.testing import CliRunner

from helpers import ABSA_WIDE, MULTILABEL, TINY, TINY_OVERRIDES
from lstmtext.cli import app
from lstmtext.config import build_config
from lstmtext.errors import BundleError, ConfigError, DataError
from lstmtext.inference.bundle import load_bundle
from lstmtext.models import build_model
from lstmtext.pipeline import language_model as lm_pipeline
from lstmtext.pipeline import run
from lstmtext.training.lm_bundle import load_lm

LM_SETTINGS = ["model.embedding_dim=8", "model.hidden_size=8", "lm.epochs=2", "lm.batch_tokens=64",
               "vocab.min_freq=1", "lm.sampled=0", "lm.valid_every=5"]
WORDS = ["crew", "flight", "delayed", "great", "service", "bag", "lost", "thanks", "awful", "lounge"]


def _texts(n: int = 80) -> list[str]:
    return [" ".join(["@airline"] + [WORDS[(i * 3 + k * 7) % len(WORDS)] for k in range(3 + i % 5)]) for i in range(n)]


@pytest.fixture(scope="module")
def texts_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("raw") / "raw.txt"
    path.write_text("\n".join(_texts()) + "\n", encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def lm_dir(tmp_path_factory, texts_file):
    out = tmp_path_factory.mktemp("lm") / "lm"
    result = CliRunner().invoke(app, ["pretrain", str(texts_file), "--out", str(out), "--quiet",
                                      *[a for s in LM_SETTINGS for a in ("--set", s)]])
    assert result.exit_code == 0, result.output
    assert "epoch 2: train loss" in result.output and "valid perplexity" in result.output  # a line per epoch
    return out


def test_pretrains_epoch_lines_say_the_time_left(texts_file, tmp_path):
    result = CliRunner().invoke(app, ["pretrain", str(texts_file), "--out", str(tmp_path / "lm"),
                                      *[a for s in LM_SETTINGS for a in ("--set", s)]])  # not --quiet: the bars' lines
    assert result.exit_code == 0, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("LM epoch ")]
    assert [line.split(":")[0] for line in lines] == ["LM epoch 1/2", "LM epoch 2/2"]
    assert "; 1 epoch left, about " in lines[0] and " left" not in lines[1]


def _config(*extra):
    return build_config("ulmfit", overrides=[*TINY_OVERRIDES, "model.embed_dropout=0.0", "train.epochs=1", *extra])


def test_pretrain_writes_a_bundle_with_its_history(lm_dir):
    assert sorted(p.name for p in lm_dir.iterdir()) == ["lm.json", "model.safetensors", "vocab.json"]
    meta = json.loads((lm_dir / "lm.json").read_text())
    assert meta["format"] == "lstmtext-lm" and meta["bidirectional"] is True and meta["embedding_dim"] == 8
    assert [h["epoch"] for h in meta["history"]] == [1, 2]
    assert meta["corpus"]["valid"]["texts"] == 16  # every 5th of 80 texts held out
    ppl = [h["valid_perplexity"] for h in meta["history"]]
    assert ppl[1] < ppl[0] < len(json.loads((lm_dir / "vocab.json").read_text())["itos"])  # learns; beats uniform
    assert meta["perplexity"] == min(ppl)
    lm = load_lm(lm_dir)
    assert "crew" in lm.vocab and lm.preprocess.preset == "en-tweet"


def _stop_after_one_epoch(monkeypatch):
    """Make language-model training stop (KeyboardInterrupt, as Ctrl-C) after its first epoch; returns the undo."""
    real_fit = lm_pipeline.fit_lm

    def killed_after_one_epoch(*args, **kwargs):
        def stop(record):
            raise KeyboardInterrupt

        return real_fit(*args, **{**kwargs, "on_epoch_end": stop})

    monkeypatch.setattr(lm_pipeline, "fit_lm", killed_after_one_epoch)
    return lambda: monkeypatch.setattr(lm_pipeline, "fit_lm", real_fit)


def test_an_interrupted_pretraining_resumes_to_the_same_weights(tmp_path, texts_file, monkeypatch):
    cfg = build_config("ulmfit", overrides=LM_SETTINGS)
    whole = lm_pipeline.pretrain(cfg, texts_file, tmp_path / "whole", progress=False)
    restore = _stop_after_one_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        lm_pipeline.pretrain(cfg, texts_file, tmp_path / "cut", progress=False)
    restore()
    with pytest.raises(BundleError, match="not empty"):
        lm_pipeline.pretrain(cfg, texts_file, tmp_path / "cut", progress=False)
    with pytest.raises(BundleError, match=r"cut: a pretraining that did not finish \(no language model saved yet\)\. "
                                          r"Finish it with `lstmtext pretrain TEXTS --out .*cut --resume`"):
        lm_pipeline.load_pretrained(build_config("ulmfit", overrides=[f'train.pretrained="{tmp_path / "cut"}"']), [])
    bigger = build_config("ulmfit", overrides=[*LM_SETTINGS, "model.hidden_size=24"])
    with pytest.raises(BundleError, match=r"cut: --resume continues the pretraining saved there, but this command sets "
                                          r"model.hidden_size = 24 \(the saved run: \d+\)\. Resume with the same"):
        lm_pipeline.pretrain(bigger, texts_file, tmp_path / "cut", resume=True, progress=False)
    default_epochs = build_config("ulmfit")  # --set lm.epochs=16 names a key even though 16 is the default
    with pytest.raises(BundleError, match=r"sets lm.epochs = 16 \(the saved run: 2\)"):
        lm_pipeline.pretrain(default_epochs, texts_file, tmp_path / "cut", resume=True, progress=False,
                             asked=["lm.epochs"])
    other = tmp_path / "other.txt"
    other.write_text("other texts here\n" * 20)
    with pytest.raises(BundleError, match=f"continues the pretraining on {texts_file}, not {other}"):
        lm_pipeline.pretrain(cfg, other, tmp_path / "cut", resume=True, progress=False)
    state = tmp_path / "cut" / "pretrain.json"
    saved = json.loads(state.read_text())
    state.write_text(json.dumps({**saved, "texts_id": [saved["texts_id"][0], 1, 2]}))  # as if the file was edited
    with pytest.raises(BundleError, match=r"\(changed since it started\)\. Resume with the same unchanged TEXTS"):
        lm_pipeline.pretrain(cfg, texts_file, tmp_path / "cut", resume=True, progress=False)
    state.write_text(json.dumps(saved))
    bare = build_config("ulmfit")  # `pretrain TEXTS --out cut --resume` alone: the saved settings are used
    resumed = lm_pipeline.pretrain(bare, texts_file, tmp_path / "cut", resume=True, progress=False)
    with pytest.raises(BundleError, match=r"cut holds a finished language model: nothing to resume\. Use it with "):
        lm_pipeline.pretrain(bare, texts_file, tmp_path / "cut", resume=True, progress=False)
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "notes.txt").write_text("keep me")
    with pytest.raises(BundleError, match="holds no language model"):  # --overwrite never deletes a user's folder
        lm_pipeline.pretrain(cfg, texts_file, tmp_path / "mine", overwrite=True, progress=False)
    assert (tmp_path / "mine" / "notes.txt").read_text() == "keep me"
    a, b = load_file(tmp_path / "whole" / "model.safetensors"), load_file(tmp_path / "cut" / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert [h["valid_perplexity"] for h in resumed.info["history"]] == [h["valid_perplexity"] for h in whole.info["history"]]


def test_overwrite_keeps_the_old_language_model_until_the_new_texts_are_read(lm_dir, tmp_path):
    keep = tmp_path / "lm"
    keep.mkdir()
    for f in lm_dir.iterdir():
        (keep / f.name).write_bytes(f.read_bytes())
    table = tmp_path / "t.csv"
    table.write_text("kalimat,label\nfoo bar,a\n")
    result = CliRunner().invoke(app, ["pretrain", str(table), "--out", str(keep), "--overwrite"])
    assert result.exit_code == 1 and "no column 'text'" in str(result.exception)  # a typo loses nothing
    assert load_lm(keep).vocab.itos == load_lm(lm_dir).vocab.itos
    with pytest.raises(BundleError, match=f"--out {table} is a file; a language model is a folder"):
        lm_pipeline.pretrain(build_config("ulmfit"), table, table, progress=False)



def test_a_language_models_folder_and_a_training_runs_never_mix(lm_dir, texts_file, tmp_path):
    keep = tmp_path / "lm"
    keep.mkdir()
    for f in lm_dir.iterdir():
        (keep / f.name).write_bytes(f.read_bytes())
    result = CliRunner().invoke(app, ["train", str(TINY), "--pretrained", str(keep), "--out", str(keep)])
    assert result.exit_code == 1 and str(result.exception) == (f"{keep} is a language model's folder (lstmtext "
                                                               "pretrain). Give a new folder as --out.")
    (keep / "model").mkdir()  # a run's files put there by hand (or by an older lstmtext)
    (keep / "metrics.json").write_text("{}")
    result = CliRunner().invoke(app, ["pretrain", str(texts_file), "--out", str(keep), "--overwrite"])
    assert result.exit_code == 1 and str(result.exception).startswith(
        f"{keep} holds a language model and also metrics.json, model, which pretrain did not write: --overwrite "
        "would delete them.")
    assert (keep / "metrics.json").is_file() and load_lm(keep).vocab.itos == load_lm(lm_dir).vocab.itos
    (keep / "model").rmdir()
    (keep / "metrics.json").unlink()
    (keep / "resources").mkdir()  # what a cleaning with a lexicon saves beside the model: pretrain's own
    (keep / "resources" / "lexicon.csv").write_text("slang,formal\n")
    result = CliRunner().invoke(app, ["pretrain", str(texts_file), "--out", str(keep), "--overwrite", "--quiet",
                                      *[a for s in LM_SETTINGS for a in ("--set", s)]])
    assert result.exit_code == 0, result.output


def test_a_classifier_starts_from_the_lm_and_gradual_unfreezing_keeps_it_for_one_epoch(lm_dir):
    lm = load_lm(lm_dir)
    config = _config(f"train.pretrained=\"{lm_dir}\"", "lm.finetune_epochs=0", "model.embedding_dim=32",
                     "train.unfreeze=\"gradual\"")
    result = run(config, TINY, progress=False)
    assert result.encoder.vocab.itos == lm.vocab.itos  # the language model's vocabulary, as it is
    assert config.model.embedding_dim == 8  # sizes taken from the language model, and noted
    assert any("embedding_dim 8" in n for n in result.summary["notes"])
    state, source = result.model.state_dict(), lm.model.state_dict()
    # epoch 1 of gradual unfreezing trains the output layer only: the embedding and LSTM are still the LM's
    for name in ("embedding.weight", "rnn.weight_ih_l0", "rnn.weight_hh_l0_reverse"):
        torch.testing.assert_close(state[f"base.{name}"], source[name])  # the network beside the preset's TF-IDF bag
    assert state["base.fc.weight"].shape == (3, 3 * 2 * 8)  # concat pooling: last, max and mean of both directions
    assert state["idf"].max() > 0 and len(result.summary["ngram_fit"]["members"]) == 1  # the bag fitted after


def test_an_unlabelled_file_nothing_reads_is_not_read_and_said_so(lm_dir, tmp_path):
    """--unlabelled with --pretrained and lm.finetune_epochs=0 was cleaned in full and reported as used, yet nothing
    learnt from it: the metrics equalled the run's without it."""
    unread = tmp_path / "unread.csv"
    unread.write_text("id\n1\n", encoding="utf-8")  # no text column: read, it would end the run
    settings = [f"train.pretrained=\"{lm_dir}\"", "lm.finetune_epochs=0", "train.epochs=1"]
    result = run(_config(*settings, f'data.unlabelled="{unread}"'), TINY, progress=False)
    assert any(n.startswith(f"{unread}: not read: --pretrained with lm.finetune_epochs=0") for n in result.summary["notes"])
    plain = run(_config(*settings), TINY, progress=False)
    assert result.metrics["valid"] == plain.metrics["valid"]


def test_unlabelled_texts_of_one_token_are_said_to_teach_the_language_model_nothing(lm_dir, tmp_path):
    """pretrain refuses a file of one-token texts; train --pretrained --unlabelled took one without a word."""
    one = tmp_path / "one.txt"
    one.write_text("delayed\nthanks\nlost\n", encoding="utf-8")
    settings = [f"train.pretrained=\"{lm_dir}\"", "lm.finetune_epochs=1", "train.epochs=1", f'data.unlabelled="{one}"']
    result = run(_config(*settings), TINY, progress=False)
    assert any(n == f"{one}: 3 of its 3 texts hold one token after cleaning, and a language model learns each word from "
                      "the ones before it, so they teach it nothing: none of them is of use. Give texts of several words."
               for n in result.summary["notes"])


def test_without_gradual_unfreezing_every_group_trains_from_epoch_1(lm_dir):
    config = _config(f"train.pretrained=\"{lm_dir}\"", "lm.finetune_epochs=0", "train.unfreeze=\"all\"",
                     "train.epochs=2", "train.schedule=\"constant\"")
    result = run(config, TINY, progress=False)
    lm = load_lm(lm_dir).model.state_dict()
    moved = {k: float((result.model.state_dict()[f"base.{k}"] - lm[k]).abs().mean())
             for k in ("embedding.weight", "rnn.weight_ih_l0")}
    assert moved["embedding.weight"] > 0 and moved["rnn.weight_ih_l0"] > 0  # everything trains from epoch 1


def config_settings(config, unlabelled=None):
    """The --set of the inline-pretraining test's config (with another --unlabelled file)."""
    return ["train.pretrain=true", *[s for s in LM_SETTINGS if not s.startswith("vocab.")],
            f"data.unlabelled=\"{unlabelled or config.data.unlabelled}\""]


def test_inline_pretraining_reads_the_unlabelled_text_and_saves_the_lm(tmp_path, texts_file):
    config = _config("train.pretrain=true", *[s for s in LM_SETTINGS if not s.startswith("vocab.")],
                     f"data.unlabelled=\"{texts_file}\"")
    result = run(config, TINY, tmp_path / "run", progress=False)
    assert config.model.embedding.kind == "random"  # the LM trains the embedding, not word2vec
    lm = load_lm(tmp_path / "run")  # a training folder holding lm/ reads as its language model
    assert lm.info["corpus"]["train"]["texts"] > 64  # the training texts and the 80 unlabelled ones, less held out
    assert "lounge" in result.encoder.vocab  # a word only the unlabelled text has
    assert any(n.startswith("language model:") for n in result.summary["notes"])
    assert not (tmp_path / "run" / "lm_work").exists()
    summary = result.summary  # the run's time counts its language-model stage (it read as the classifier's alone)
    assert 0 < summary["lm_seconds"] and summary["train_seconds"] == result.train.seconds + summary["lm_seconds"]
    assert f"(the language model {summary['lm_seconds']:.1f} s of it)" in (tmp_path / "run" / "report.md").read_text()
    import shutil

    # stopped after the language-model stage, before the classifier's first epoch: --resume reads the saved LM
    # and starts the classifier (it said "no usable checkpoint ... Start without --resume", retraining the LM)
    for name in ("checkpoint", "model"):
        shutil.rmtree(tmp_path / "run" / name, ignore_errors=True)
    again = run(config, TINY, tmp_path / "run", resume=True, progress=False)
    assert again.metrics["valid"]["accuracy"] == result.metrics["valid"]["accuracy"]
    # the saved language model is read back only for the stage's own settings and inputs: a resume with another
    # --unlabelled file (or --pretrained model) had gone on with the old one, then failed blaming the data
    for name in ("checkpoint", "model"):
        shutil.rmtree(tmp_path / "run" / name, ignore_errors=True)
    with pytest.raises(BundleError, match=r"run/lm: --resume continues the finished language-model stage saved there, "
                                          r"but this command sets lm\.lr = 0\.05"):
        run(_config(*config_settings(config), "lm.lr=0.05"), TINY, tmp_path / "run", resume=True, progress=False)
    other = tmp_path / "other.txt"
    other.write_text(texts_file.read_text(encoding="utf-8") + "one more text\n", encoding="utf-8")
    with pytest.raises(BundleError, match=rf"run/lm: --resume continues a finished language-model stage that read the "
                                          rf"--unlabelled file {other} as it was then, and it has changed"):
        run(_config(*config_settings(config, unlabelled=other)), TINY, tmp_path / "run", resume=True, progress=False)


def test_a_damaged_interrupted_pretraining_is_one_line_naming_the_file(tmp_path, texts_file, monkeypatch):
    import shutil

    cfg = build_config("ulmfit", overrides=LM_SETTINGS)
    restore = _stop_after_one_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        lm_pipeline.pretrain(cfg, texts_file, tmp_path / "cut", progress=False)
    restore()
    for name, damage in (("pretrain.json", lambda p: p.write_text("{bad")), ("vocab.json", lambda p: p.unlink())):
        copy = tmp_path / f"cut-{name}"
        shutil.copytree(tmp_path / "cut", copy)
        damage(copy / name)  # a JSONDecodeError and a FileNotFoundError traceback
        with pytest.raises(BundleError, match=rf"{name} is missing or corrupt: the interrupted work cannot be "
                                              r"resumed\. Start again with --overwrite"):
            lm_pipeline.pretrain(cfg, texts_file, copy, resume=True, progress=False)
    cut = tmp_path / "cut-ids"
    shutil.copytree(tmp_path / "cut", cut)
    ids = cut / "corpus" / "train.ids"
    ids.write_bytes(ids.read_bytes()[:100])
    with pytest.raises(DataError, match=r"token stream is truncated .* start again with --overwrite"):
        lm_pipeline.pretrain(cfg, texts_file, cut, resume=True, progress=False)
    # the token stream's own work files, damaged: numpy's and json's tracebacks before
    for k, (name, damage) in enumerate((("meta.json", lambda p: p.write_text(p.read_text()[:5])),
                         ("train.ids", lambda p: p.write_bytes(p.read_bytes()[:50])),  # not a whole number of ids
                         ("train.ids", lambda p: p.unlink()), ("train.offsets", lambda p: p.write_bytes(b"")))):
        copy = tmp_path / f"cut-stream-{k}"
        shutil.copytree(tmp_path / "cut", copy)
        damage(copy / "corpus" / name)
        with pytest.raises((BundleError, DataError), match=r"(is missing or corrupt: the interrupted work cannot be "
                                                           r"resumed|token stream is damaged \(a file is (missing|empty or "
                                                           r"cut short)\))\. .*--overwrite"):
            lm_pipeline.pretrain(cfg, texts_file, copy, resume=True, progress=False)


def test_a_run_stopped_in_its_language_model_stage_resumes_only_with_its_settings_and_texts(tmp_path, texts_file,
                                                                                               monkeypatch):
    """The stage went on with another lm.lr (pretrain --resume refuses it), or on the corpus of the earlier file."""
    unlabelled = tmp_path / "raw.txt"
    unlabelled.write_text(texts_file.read_text(encoding="utf-8"), encoding="utf-8")
    settings = ["train.pretrain=true", *[s for s in LM_SETTINGS if not s.startswith("vocab.")],
                f'data.unlabelled="{unlabelled}"']
    restore = _stop_after_one_epoch(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        run(_config(*settings), TINY, tmp_path / "run", progress=False)
    restore()
    with pytest.raises(BundleError, match=r"lm_work: --resume continues the language-model stage saved there, but this "
                                          r"command sets lm.lr = 0\.05 \(the saved run: "):
        run(_config(*settings, "lm.lr=0.05"), TINY, tmp_path / "run", resume=True, progress=False)
    text = unlabelled.read_text(encoding="utf-8")
    unlabelled.write_text(text + "a new text of the unlabelled file\n", encoding="utf-8")
    with pytest.raises(BundleError, match=rf"lm_work: --resume continues a language-model stage that read the "
                                          rf"--unlabelled file {unlabelled} as it was then, and it has changed"):
        run(_config(*settings), TINY, tmp_path / "run", resume=True, progress=False)
    import os

    unlabelled.write_text(text, encoding="utf-8")
    state = json.loads((tmp_path / "run" / "lm_work" / "run.json").read_text())
    os.utime(unlabelled, ns=(state["inputs"][1][2], state["inputs"][1][2]))  # the file as it was
    # a setting the stage does not read (the classifier's learning rate): the stage goes on, and the run ends
    result = run(_config(*settings, "train.lr=0.01"), TINY, tmp_path / "run", resume=True, progress=False)
    assert load_bundle(tmp_path / "run").config.train.lr == 0.01 and 0 <= result.metrics["valid"]["accuracy"] <= 1


@pytest.mark.parametrize(("task", "data", "extra"), [
    ("absa", ABSA_WIDE, ["data.split_col=\"split\""]),  # without it 'split' was read as a fourth aspect
    ("multilabel", MULTILABEL, ["multilabel.label_sep=\"|\"", "data.label_col=\"labels\""]),
])
def test_aspect_and_multilabel_models_start_from_the_lm(lm_dir, task, data, extra):
    args = ["train", str(data), "--task", task, "--pretrained", str(lm_dir), "--quiet", "--set", "train.epochs=1",
            "--set", "lm.finetune_epochs=1", "--set", "model.ensemble=1", *[a for s in extra for a in ("--set", s)]]
    result = CliRunner().invoke(app, [*args, "--out", str(lm_dir.parent / f"run-{task}")])
    assert result.exit_code == 0, result.output
    saved = load_bundle(lm_dir.parent / f"run-{task}").config
    assert saved.train.pretrained == str(lm_dir) and saved.model.embedding_dim == 8
    assert saved.model.embedding.kind == "random" and saved.preprocess.preset == "en-tweet"  # the LM's cleaning


def test_a_run_with_another_cleaning_is_refused_in_one_line(lm_dir):
    config = _config(f"train.pretrained=\"{lm_dir}\"", "preprocess.preset=\"plain\"")
    with pytest.raises(ConfigError, match=r"trained with the cleaning en-tweet, but this run's is plain\. Leave") as err:
        run(config, TINY, progress=False)
    assert "\n" not in str(err.value)


def test_the_cli_refuses_a_preprocess_flag_that_differs_from_the_lm_rather_than_ignoring_it(lm_dir, tmp_path):
    args = ["train", str(TINY), "--pretrained", str(lm_dir), "--quiet", "--set", "train.epochs=1",
            "--set", "lm.finetune_epochs=0"]
    result = CliRunner().invoke(app, [*args, "--preprocess", "plain", "--out", str(tmp_path / "plain")])
    assert result.exit_code == 1 and "the cleaning en-tweet, but this run's is plain" in str(result.exception)
    assert not (tmp_path / "plain" / "model").exists()
    result = CliRunner().invoke(app, [*args, "--preprocess", "en-tweet", "--out", str(tmp_path / "same")])
    assert result.exit_code == 0, result.output  # the language model's own cleaning, named again
    # the same through --set: the run had taken the model's cleaning and dropped the --set, while its saved config
    # named the --set's preset; sizes and the vocabulary's words are the model's too
    said = {"preprocess.preset=\"plain\"": "with --pretrained the cleaning is the language model's. Leave it out",
            "vocab.num_words=100": f"a run that starts from the language model {lm_dir} takes its vocabulary's words "
                                   "and its embedding and hidden sizes (8 and 8). Leave it out",
            "model.hidden_size=64": "takes its vocabulary's words and its embedding and hidden sizes (8 and 8)."}
    for item, message in said.items():
        result = CliRunner().invoke(app, [*args, "--set", item, "--out", str(tmp_path / "set")])
        assert result.exit_code == 1 and str(result.exception).startswith(f"--set {item}: "), item
        assert message in str(result.exception), item
    assert not (tmp_path / "set").exists()
    from lstmtext.classifier import TextClassifier

    # the same from the Python API (they were dropped silently), named as its arguments
    for kw, source in ((dict(hidden_size=64), "hidden_size=64"),
                       (dict(overrides={"vocab.num_words": 100}), "overrides['vocab.num_words']")):
        clf = TextClassifier("ulmfit", **{**kw, "overrides": {"train.pretrained": str(lm_dir), **kw.get("overrides", {})}})
        with pytest.raises(ConfigError, match=rf"^{re.escape(source)}: a run that starts from the language model"):
            clf.resolve_config()
    assert TextClassifier("ulmfit", hidden_size=8, overrides={"train.pretrained": str(lm_dir)}).resolve_config()
    from lstmtext.pipeline.options import run_config

    # the direction stays the run's choice: adopt_sizes leaves it, so --set may set it
    assert run_config(None, None, ["model.bidirectional=false", "vocab.max_len=20"], pretrained=lm_dir).model.bidirectional \
        is False


@pytest.fixture(scope="module")
def plain_lm(tmp_path_factory, texts_file):
    """A language model whose cleaning (plain) is not the presets' en-tweet."""
    out = tmp_path_factory.mktemp("plain") / "lm"
    result = CliRunner().invoke(app, ["pretrain", str(texts_file), "--out", str(out), "--quiet", "--preprocess", "plain",
                                      *[a for s in LM_SETTINGS for a in ("--set", s)]])
    assert result.exit_code == 0, result.output
    return out


def test_every_way_of_naming_a_language_model_takes_its_cleaning_unless_the_run_names_one(plain_lm, tmp_path):
    import pandas as pd

    from lstmtext import TextClassifier
    from lstmtext.pipeline.options import run_config

    # --set train.pretrained is --pretrained: the model's cleaning and the ulmfit preset, not the default's en-tweet
    built = run_config(None, None, [f'train.pretrained="{plain_lm}"'])
    assert (built.preprocess.preset, built.model.pooling, built.model.embedding.kind) == ("plain", "concat", "random")
    # a config file that names a cleaning keeps it (it was silently replaced), and the mismatch is refused in one line
    # a config file's train.pretrained is --pretrained too (it took the preset's cleaning)
    named_in_file = tmp_path / "lm.toml"
    named_in_file.write_text(f'[train]\npretrained = "{plain_lm}"\n', encoding="utf-8")
    assert run_config(None, named_in_file, []).preprocess.preset == "plain"
    toml = tmp_path / "run.toml"
    toml.write_text('[preprocess]\npreset = "en-tweet"\n', encoding="utf-8")
    built = run_config(None, toml, [], pretrained=plain_lm)
    assert built.preprocess.preset == "en-tweet"
    with pytest.raises(ConfigError, match=r"^--pretrained .*lm: the language model was trained with the cleaning plain, "
                                          r"but this run's is en-tweet\. Leave the cleaning out \(--preprocess, a config "
                                          r"file's \[preprocess\] section; the model's is then used\)"):
        lm_pipeline.check_lm(built, load_lm(plain_lm))
    # the Python API: the preset's cleaning gives way to the model's; one the estimator names is checked
    frame = pd.read_csv(TINY)
    settings = {"train.pretrained": str(plain_lm), "lm.finetune_epochs": 0, "train.batch_size": 8}
    clf = TextClassifier("default", epochs=1, overrides=settings).fit(frame["text"].tolist(), frame["label"].tolist())
    assert clf.config_.preprocess.steps == load_lm(plain_lm).preprocess.steps
    with pytest.raises(ConfigError, match="trained with the cleaning plain, but this run's is en-tweet"):
        TextClassifier("default", epochs=1, preprocess="en-tweet", overrides=settings).fit(
            frame["text"].tolist(), frame["label"].tolist())


def test_compare_without_preprocess_cleans_as_the_language_model(plain_lm, tmp_path):
    """compare --set train.pretrained=LM cleaned with en-tweet, its default, and refused a model of another cleaning
    (train takes the model's)."""
    out = tmp_path / "cmp"
    result = CliRunner().invoke(app, ["compare", str(TINY), "--models", "ulmfit", "--seeds", "1", "--workers", "1",
                                      "--no-baseline", "--set", f"train.pretrained={plain_lm}", "--set",
                                      "train.epochs=1", "--set", "lm.finetune_epochs=0", "--out", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "compare.json").read_text())
    assert report["preprocess"] == "plain"
    # the architecture column says the language model's sizes the run trained with, not the preset's (docs review)
    sizes = load_lm(plain_lm).sizes
    assert [s["architecture"] for s in report["summary"]] == [f"bilstm {sizes['hidden_size']} + n-gram bag"], report
    assert lm_pipeline.lm_cleaning_choice(plain_lm) == "plain"
    # train.pretrained=none is no language model (the config reads it so): the default cleaning, as before
    none = CliRunner().invoke(app, ["compare", str(TINY), "--models", "cnn", "--seeds", "1", "--workers", "1",
                                    "--no-baseline", "--set", "train.pretrained=none", "--set", "train.epochs=1",
                                    "--out", str(tmp_path / "none")])
    assert none.exit_code == 0, none.output
    assert json.loads((tmp_path / "none" / "compare.json").read_text())["preprocess"] == "en-tweet"


def test_a_language_models_step_options_have_no_preprocess_form(lm_dir, tmp_path):
    import shutil

    edited = tmp_path / "lm"
    shutil.copytree(lm_dir, edited)
    meta = json.loads((edited / "lm.json").read_text())
    meta["preprocess"]["options"] = {**meta["preprocess"].get("options", {}), "remove_digits": {"units": True}}
    (edited / "lm.json").write_text(json.dumps(meta))
    assert lm_pipeline.lm_cleaning_choice(lm_dir) == "en-tweet"
    with pytest.raises(ConfigError, match=r"cleaning sets step options \(\{'remove_digits': \{'units': True\}\}\) that "
                                          r"compare's --preprocess cannot give\. Train each model with lstmtext train"):
        lm_pipeline.lm_cleaning_choice(edited)


def test_a_cleaning_of_steps_is_named_by_its_steps_not_a_preset(lm_dir):
    config = build_config("ulmfit", overrides=['preprocess.steps=["lowercase", "normalize_whitespace"]'])
    with pytest.raises(ConfigError, match="trained with the cleaning en-tweet, but this run's is steps "
                                          "lowercase,normalize_whitespace. Leave"):
        lm_pipeline.check_lm(config, load_lm(lm_dir))


def test_compare_checks_its_one_cleaning_against_the_language_model(lm_dir):
    from helpers import load_labelled
    from lstmtext.config import DataConfig
    from lstmtext.experiments.compare import compare

    data = load_labelled(TINY, DataConfig(split_col="split"))
    # the sizes and vocabulary are the language model's (compare refuses them set, as train does)
    settings = [*(o for o in TINY_OVERRIDES if not o.startswith(("vocab.num_words", "model.embedding_dim",
                                                                "model.hidden_size", "vocab.min_freq"))),
                f'train.pretrained="{lm_dir}"', "lm.finetune_epochs=0", "train.epochs=1"]
    # every model reads texts compare cleaned, with an empty chain of its own: that was refused as 'none'
    report = compare(data, ["ulmfit", "bilstm"], seeds=1, overrides=settings, mode="sequential", workers=1,
                     baseline=False)  # bilstm's word2vec embedding gives way to the model's, as with train --pretrained
    assert [r["model"] for r in report["runs"]] == ["ulmfit", "bilstm"] and 0 <= report["runs"][0]["accuracy"] <= 1
    with pytest.raises(ConfigError, match=r"the cleaning en-tweet, but this run's is plain\. Give --preprocess "
                                          r"en-tweet \(the model's cleaning\)"):
        compare(data, ["ulmfit"], seeds=1, preprocess="plain", overrides=settings, mode="sequential", workers=1,
                baseline=False)


def test_pretraining_on_texts_that_clean_to_nothing_is_refused_in_one_line(tmp_path):
    path = tmp_path / "urls.txt"
    path.write_text("http://t.co/x\n\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["pretrain", str(path), "--out", str(tmp_path / "lm")])
    # a plain text file has no column: the cleaning is named instead (it said "Check the file and --text-col")
    assert str(result.exception).endswith("urls.txt: no unlabelled text is left after cleaning (lstmtext pretrain "
                                          "TEXTS) with normalize_unicode, remove_urls, html_entities, strip_html_tags, "
                                          "... (17 steps). Check the file, or the cleaning.")
    assert not (tmp_path / "lm").exists()  # nothing written


def test_pretraining_on_one_word_texts_names_the_file_and_writes_nothing(tmp_path):
    path = tmp_path / "words.txt"
    path.write_text("@united\n#tag http://t.co/x\nhello\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["pretrain", str(path), "--out", str(tmp_path / "lm")])
    assert str(result.exception).startswith(f"{path}: no text of two tokens or more is left after cleaning (")
    assert "\n" not in str(result.exception) and not (tmp_path / "lm").exists()


def test_bad_lm_bundles_are_refused_in_one_line(tmp_path, lm_dir):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(lm_dir, bad)
    meta = json.loads((bad / "lm.json").read_text())
    (bad / "lm.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(BundleError, match="format_version 99"):
        load_lm(bad)
    (bad / "lm.json").write_text(json.dumps(meta))
    vocab = json.loads((bad / "vocab.json").read_text())
    vocab["itos"][2], vocab["itos"][3] = vocab["itos"][3], vocab["itos"][2]  # two words swapped: every size agrees
    (bad / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(BundleError, match=r"vocab.json: its bytes do not match the checksum recorded in lm.json"):
        load_lm(bad)
    shutil.copy(lm_dir / "vocab.json", bad / "vocab.json")
    weights = bytearray((bad / "model.safetensors").read_bytes())
    weights[-4000:-3000] = bytes(1000)  # zeroed inside the tensor data: still a readable safetensors file
    (bad / "model.safetensors").write_bytes(bytes(weights))
    with pytest.raises(BundleError, match=r"model.safetensors: its bytes do not match the checksum recorded in lm.json: "
                                          r"the file is corrupt or was replaced\. Train the language model again\."):
        load_lm(bad)
    (bad / "lm.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "weights_sha256"}))  # older saves
    (bad / "model.safetensors").write_bytes(b"not safetensors")
    with pytest.raises(BundleError, match="corrupt"):
        load_lm(bad)
    (bad / "model.safetensors").unlink()
    with pytest.raises(BundleError, match="missing model.safetensors"):
        load_lm(bad)
    with pytest.raises(BundleError, match="no such language-model folder"):
        load_lm(tmp_path / "nowhere")
    (tmp_path / "texts.txt").write_text("some text\n")
    with pytest.raises(BundleError, match=r"texts\.txt is a file, not a language model .* `lstmtext pretrain .*texts\.txt"):
        load_lm(tmp_path / "texts.txt")
    # what else users give: the weights file, a classifier, a vocabulary cut by hand
    with pytest.raises(BundleError, match=rf"^{lm_dir}/model.safetensors is a file of the language model {lm_dir}: give "
                                          rf"the folder, --pretrained {lm_dir}\.$"):  # it said: pretrain on it as text
        load_lm(lm_dir / "model.safetensors")
    classifier = tmp_path / "run"
    run(build_config(None, overrides=[*TINY_OVERRIDES, "train.epochs=1"]), TINY, classifier, progress=False)
    with pytest.raises(BundleError, match=r"missing lm.json, vocab.json, model.safetensors\)\. It is a classifier "
                                          rf"\(lstmtext train\): to continue training it on new labels use --init-from "
                                          rf"{classifier};"):
        load_lm(classifier)
    cut = tmp_path / "cut"
    shutil.copytree(lm_dir, cut)
    vocab = json.loads((cut / "vocab.json").read_text())
    vocab["itos"] = vocab["itos"][:10]
    (cut / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(BundleError, match=r"vocab.json: its bytes do not match the checksum"):
        load_lm(cut)
    meta = json.loads((cut / "lm.json").read_text())  # a model saved before vocabularies had a checksum
    (cut / "lm.json").write_text(json.dumps({k: v for k, v in meta.items() if k != "vocab_sha256"}))
    with pytest.raises(BundleError, match=r"^.*cut: its files do not agree \(model.safetensors, vocab.json: 10 words, "
                                          r"and lm.json\): size mismatch for .*One of them was edited or replaced"):
        load_lm(cut)


def test_features_that_cannot_start_from_an_lm_are_refused(lm_dir):
    with pytest.raises(ConfigError, match="--init-from"):
        run(_config(f"train.pretrained=\"{lm_dir}\"", f"train.init_from=\"{lm_dir}\""), TINY, progress=False)
    with pytest.raises(ConfigError, match="model.embedding.kind"):
        run(_config("train.pretrain=true", "model.embedding.kind=\"word2vec\""), TINY, progress=False)


def test_a_model_without_a_matching_embedding_is_refused(lm_dir):
    lm = load_lm(lm_dir)
    model = build_model(build_config("cnn", overrides=["model.embedding_dim=4"]).model, len(lm.vocab), 3)
    with pytest.raises(ConfigError, match="fits no embedding"):
        lm_pipeline.start_from_lm(model, lm)
    wide = build_model(build_config("ulmfit", overrides=["model.embedding_dim=8", "model.hidden_size=8",
                                                         "model.ensemble=2"]).model, len(lm.vocab), 3)
    copied = lm_pipeline.start_from_lm(wide, lm)
    assert {n.split(".")[0] for n in copied} == {"members"} and len(copied) == 2 * 9  # both members, embedding + LSTM


def test_the_python_api_starts_from_an_lm(lm_dir, tmp_path):
    import pandas as pd

    from lstmtext import TextClassifier

    frame = pd.read_csv(TINY)
    clf = TextClassifier("ulmfit", epochs=2, overrides={"train.pretrained": str(lm_dir), "lm.finetune_epochs": 0,
                                                         "train.batch_size": 8})
    clf.fit(frame["text"].tolist(), frame["label"].tolist())
    assert clf.predict(["@airline thanks great crew"]).shape == (1,)
    assert clf.bundle_.model.base.embedding.weight.shape == (len(load_lm(lm_dir).vocab), 8)  # the LM's words and sizes
    from sklearn.base import clone

    # a loaded model trains again from the same language model: its saved vocabulary and sizes are the model's,
    # not settings (the ulmfit preset's vocab.num_words had come back as an override, which the LM refuses)
    clf.save(tmp_path / "m")
    again = clone(TextClassifier.load(tmp_path / "m"))
    assert not any(k.startswith(("vocab.num_words", "vocab.min_freq", "model.hidden_size")) for k in again.overrides)
    assert again.resolve_config().train.pretrained == str(lm_dir)


def test_a_language_model_writes_its_cleaning_out_and_carries_its_lexicon(tmp_path, texts_file):
    from lstmtext.preprocess import preprocess_preset

    lexicon = tmp_path / "slang.tsv"
    lexicon.write_text("slang\tformal\nbgt\tbanget\n", encoding="utf-8")
    cfg = build_config("ulmfit", overrides=[*LM_SETTINGS, 'preprocess.preset="id-review"',
                                            f'preprocess.options.normalize_slang.lexicon="{lexicon}"'])
    lm_pipeline.pretrain(cfg, texts_file, tmp_path / "lm", progress=False)
    saved = json.loads((tmp_path / "lm" / "lm.json").read_text())["preprocess"]
    assert saved["steps"] == preprocess_preset("id-review")["steps"]  # a later change of the preset cannot move it
    assert saved["options"]["normalize_slang"]["lexicon"] == "resources/normalize_slang.lexicon.tsv"
    lexicon.unlink()  # the user's file is gone: the language model's copy is read
    assert load_lm(tmp_path / "lm").preprocess.options["normalize_slang"]["lexicon"] == \
        str(tmp_path / "lm" / "resources" / "normalize_slang.lexicon.tsv")


def test_a_language_model_saved_before_a_preset_gained_an_option_keeps_its_cleaning():
    from types import SimpleNamespace

    from lstmtext.config.schema import PreprocessConfig
    from lstmtext.preprocess.presets import preprocess_preset, resolved_preprocess

    written = {"preset": "id-review", "steps": preprocess_preset("id-review")["steps"], "options": {}}
    assert resolved_preprocess(written)["options"] == {}  # written out in full: the preset's options stay out
    old_lm = SimpleNamespace(preprocess=PreprocessConfig(**written), path="lm")
    with pytest.raises(ConfigError, match=r"preprocess.options = \{\}, but this run asks for \{'punctuation_to_space'"):
        lm_pipeline.check_lm(build_config(None, overrides=['preprocess.preset="id-review"']), old_lm)
    lm_pipeline.check_lm(build_config(None, extra={"preprocess": written}), old_lm)  # its own chain: accepted


def test_pretraining_on_a_handful_of_texts_warns_that_it_learnt_little(tmp_path, caplog):
    path = tmp_path / "few.txt"
    path.write_text("good flight\nbad flight\nlate again\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["pretrain", str(path), "--out", str(tmp_path / "lm"), "--quiet",
                                      *[a for s in LM_SETTINGS for a in ("--set", s)]])
    assert result.exit_code == 0, result.output
    assert "0 held-out tokens)" in result.output
    assert "no held-out texts (every lm.valid_every-th text is held out: 5; give more texts or a smaller " \
        "lm.valid_every); perplexity is measured on training texts" in caplog.text  # logged, once; no work folder named
    # each epoch's line says what its perplexity is on (it said "valid")
    assert "epoch 2: train loss" in result.output and "valid perplexity" not in result.output
    assert result.output.count("perplexity on the training texts (none held out)") == 2
    assert lm_pipeline.lm_note(load_lm(tmp_path / "lm")).startswith(
        "language model: 6 training tokens, 2 epochs, perplexity on the training texts (none held out) ")
    assert "training tokens are too few for a language model to learn a language from (the bundled airline tweets " \
           "hold about 190,000): give more texts." in " ".join(result.output.split())
    assert "is not read" not in result.output
    cnn = CliRunner().invoke(app, ["pretrain", str(path), "--out", str(tmp_path / "cnn"), "--quiet", "--preset", "cnn",
                                   *[a for s in LM_SETTINGS for a in ("--set", s)]])
    assert cnn.exit_code == 0 and "warning: the language model is an LSTM; model.name = 'cnn' (from the preset 'cnn') " \
        "is not read" in " ".join(cnn.output.split())


def test_a_language_model_that_knows_few_of_the_words_or_read_few_tokens_is_warned_about(lm_dir):
    from lstmtext.pipeline.language_model import lm_warnings, vocabulary_coverage

    lm = load_lm(lm_dir)  # an English model given Vietnamese reviews had read 94% of their words as <unk>, silently
    assert vocabulary_coverage(lm, [[5, 6, 1], [7]]) is None
    assert vocabulary_coverage(lm, [[1, 1, 1, 5], [1, 1]]) == (
        f"--pretrained {lm.path}: only 16.7% of the training texts' words (1 of 6) are in the language model's "
        "vocabulary; the rest are read as one unknown word. Was it pretrained on texts of this language and kind? "
        "Pretrain one on texts like these (lstmtext pretrain).")
    tokens = lm.info["corpus"]["train"]["tokens"]
    assert tokens < 10_000 and lm_warnings(lm, pretrained=True) == []  # given with --pretrained: pretrain warned
    assert lm_warnings(lm, pretrained=False)[0].startswith(f"the language model read {tokens:,} training tokens")


@pytest.mark.parametrize("command", [["learning-curve", "--sizes", "20"], ["cv", "--folds", "2"]])
def test_experiments_that_clean_once_start_from_the_lm(lm_dir, tmp_path, command):
    """learning-curve, cv, audit and search clean the texts once and run with an empty chain: the language model's
    check read that as "this run's cleaning is none" and refused every run, whatever --preprocess said."""
    args = [command[0], str(TINY), *command[1:], "--seeds" if command[0] == "learning-curve" else "--workers", "1",
            "--set", f"train.pretrained={lm_dir}", "--set", "train.epochs=1", "--set", "lm.finetune_epochs=0"]
    if command[0] == "learning-curve":
        args += ["--workers", "1"]
    result = CliRunner().invoke(app, [*args, "--out", str(tmp_path / "same")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(app, [*args, "--preprocess", "plain", "--out", str(tmp_path / "plain")])
    assert result.exit_code == 1 and "the cleaning en-tweet, but this run's is plain" in str(result.exception)


def test_compare_refuses_a_size_or_vocabulary_setting_the_lm_fixes(lm_dir, tmp_path):
    """compare ran with --set vocab.num_words=300 and model.hidden_size=64 and ignored both (train refuses them)."""
    base = ["compare", str(TINY), "--models", "ulmfit", "--seeds", "1", "--workers", "1", "--set",
            f"train.pretrained={lm_dir}", "--set", "train.epochs=1", "--set", "lm.finetune_epochs=0"]
    for key, source in (("vocab.num_words=300", "--set vocab.num_words=300"),
                        ("model.hidden_size=64", "--set model.hidden_size=64")):
        result = CliRunner().invoke(app, [*base, "--set", key, "--out", str(tmp_path / key)])
        assert result.exit_code == 1 and str(result.exception).startswith(
            f"{source}: a run that starts from the language model {lm_dir} takes its vocabulary's words and its "
            "embedding and hidden sizes (8 and 8). Leave it out")
    result = CliRunner().invoke(app, [*base, "--set", "model.hidden_size=8", "--out", str(tmp_path / "same")])
    assert result.exit_code == 0, result.output  # the model's own size, named again


@pytest.mark.parametrize(("edit", "said"), [
    (lambda m: m.pop("preprocess"), "preprocess is missing, not a cleaning section"),  # a KeyError traceback
    (lambda m: m.update(hidden_size="8"), 'hidden_size is "8", not a whole number of at least 1'),  # a TypeError one
    (lambda m: m.update(bidirectional="yes"), 'bidirectional is "yes", not true or false'),  # accepted
    (lambda m: m.update(format_version="1"), 'format_version is "1", not a number'),  # "'1', but ... reads 1"
])
def test_an_edited_lm_json_is_named_in_one_line(tmp_path, lm_dir, edit, said):
    import shutil

    bad = tmp_path / "bad"
    shutil.copytree(lm_dir, bad)
    meta = json.loads((bad / "lm.json").read_text())
    edit(meta)
    (bad / "lm.json").write_text(json.dumps(meta))
    for read in (lambda: load_lm(bad), lambda: run(_config(f"train.pretrained=\"{bad}\""), TINY, progress=False)):
        with pytest.raises(BundleError) as err:
            read()
        assert str(err.value) == f"{bad}/lm.json: {said}: the file was edited or is corrupt. Train the language " \
                                 "model again."


def test_a_language_model_with_a_cleaning_step_this_lstmtext_lacks_is_named(tmp_path, lm_dir):
    # it said "preprocess.steps: unknown cleaning step 'no_such_step'", as if the run had misspelt a step of its own
    import shutil

    from lstmtext.pipeline.options import run_config

    bad = tmp_path / "bad"
    shutil.copytree(lm_dir, bad)
    meta = json.loads((bad / "lm.json").read_text())
    meta["preprocess"]["steps"] = [*meta["preprocess"]["steps"], "no_such_step"]
    (bad / "lm.json").write_text(json.dumps(meta))
    for read in (lambda: load_lm(bad), lambda: run_config(None, None, [], pretrained=str(bad))):
        with pytest.raises(BundleError, match=rf"^{re.escape(str(bad))}/lm\.json: cleaning step 'no_such_step' is "
                                              r"unknown to lstmtext .*\(pretrained with another version, or edited\)"):
            read()


def test_resume_and_overwrite_together_are_refused(tmp_path, texts_file):
    """pretrain --resume --overwrite resumed, saying nothing of the --overwrite it passed over; train too."""
    said = r"--resume and --overwrite together: --resume continues the run in OUT, --overwrite starts it again"
    with pytest.raises(ConfigError, match=said):
        lm_pipeline.pretrain(build_config("ulmfit", overrides=LM_SETTINGS), texts_file, tmp_path / "lm", resume=True,
                             overwrite=True, progress=False)
    with pytest.raises(ConfigError, match=said) as err:
        run(_config(), TINY, tmp_path / "run", resume=True, overwrite=True, progress=False)
    from lstmtext.errors import in_python_terms

    assert str(in_python_terms(err.value)).startswith("resume=True and overwrite=True together: resume continues the "
                                                       "run in out_dir, overwrite starts it again")


def test_a_preset_whose_cleaning_the_language_model_replaces_is_told(lm_dir, caplog):
    # --task absa --pretrained LM trained with the model's cleaning, not the absa preset's id-aspect, and only the
    # report's cleaning line showed it
    from lstmtext.pipeline.options import run_config

    with caplog.at_level("WARNING"):
        config = run_config(None, None, [], task="absa", pretrained=str(lm_dir), aspects="food,price")
    said = [r.getMessage() for r in caplog.records if "--pretrained" in r.getMessage()]
    lm_cleaning = json.loads((lm_dir / "lm.json").read_text())["preprocess"]["preset"]
    assert config.preprocess.preset == lm_cleaning and said == [
        f"--pretrained {lm_dir}: the run cleans as the language model was trained ({lm_cleaning}), not as preset absa "
        "does (id-aspect). Pretrain with --preprocess id-aspect to keep the preset's cleaning."]
    caplog.clear()
    with caplog.at_level("WARNING"):  # ulmfit has no cleaning of its own: nothing replaced, nothing said
        run_config(None, None, [], pretrained=str(lm_dir))
    assert not [r for r in caplog.records if "--pretrained" in r.getMessage()]
    toml = lm_dir.parent / "c.toml"  # under a config file the task's preset is a base, not a preset the user named
    toml.write_text("[train]\nepochs = 1\n")
    with caplog.at_level("WARNING"):
        run_config(None, toml, [], task="absa", pretrained=str(lm_dir), aspects="food,price")
    assert [r.getMessage() for r in caplog.records if "--pretrained" in r.getMessage()][0].endswith(
        "not as the preset absa that the config file is laid over does (id-aspect). Pretrain with --preprocess "
        "id-aspect to keep the preset's cleaning.")


def test_pretrain_says_how_many_one_token_texts_it_leaves_out(tmp_path, caplog):
    # 74 of 3,000 SmSA reviews ('indah', 'tidak kesal' -> 'tidak_kesal') were left out without a word
    texts = tmp_path / "raw.txt"
    texts.write_text("\n".join(_texts(40) + ["lovely", "@airline great"]) + "\n", encoding="utf-8")
    with caplog.at_level("WARNING"):
        lm_pipeline.pretrain(build_config("ulmfit", overrides=LM_SETTINGS), texts, tmp_path / "lm", progress=False)
    assert [r.getMessage() for r in caplog.records if "one token" in r.getMessage()] == [
        f"{texts}: 2 of 42 texts hold one token after cleaning and are left out: a language model learns each word "
        "from the ones before it."]


@pytest.mark.parametrize("name, extra, both", [("bilstm_attn", [], True), ("bilstm", [], True),
                                               ("lstm", ["model.bidirectional=true"], True), ("lstm", [], False),
                                               ("clstm", ["model.bidirectional=true"], False)])
def test_a_new_language_model_reads_both_ways_where_the_classifier_does(name, extra, both):
    """bilstm_attn's BiLSTM (bidirectional forced) had a forward-only language model: its reverse LSTM started
    from random weights without a word."""
    config = build_config(None, overrides=[f'model.name="{name}"', *extra])
    lm = lm_pipeline.new_lm(config, 50)
    assert lm.directions == (2 if both else 1)
    from lstmtext.training.lm_bundle import LMBundle

    bundle = LMBundle(lm, None, config.preprocess, config.lm, {})
    copied = lm_pipeline.start_from_lm(build_model(config.model, 50, 3), bundle)
    assert any(n.endswith("_reverse") for n in copied) is both


def test_a_forward_only_language_model_under_a_bilstm_is_said(texts_file, lm_dir, tmp_path):
    """A one-direction language model gave a BiLSTM its forward weights alone; the reverse direction started random
    and the report said only "started from the language model" (a review)."""
    forward = tmp_path / "fwd"
    result = CliRunner().invoke(app, ["pretrain", str(texts_file), "--out", str(forward), "--quiet", "--preset",
                                      "lstm", *[a for s in LM_SETTINGS for a in ("--set", s)]])
    assert result.exit_code == 0, result.output
    settings = ["lm.finetune_epochs=0", "train.epochs=1"]
    notes = run(_config(f'train.pretrained="{forward}"', *settings), TINY, progress=False).summary["notes"]
    said = [n for n in notes if "reads one direction" in n]
    assert len(said) == 1 and "the classifier's reverse LSTM direction (4 tensors) starts from random weights" in said[0]
    both = run(_config(f'train.pretrained="{lm_dir}"', *settings), TINY, progress=False).summary["notes"]
    assert not [n for n in both if "reads one direction" in n]
