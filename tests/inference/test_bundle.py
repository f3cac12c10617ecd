"""Bundles: JSON + safetensors, atomic writes, no silent overwrite, clear errors for mismatched files."""

import json
import shutil

import pytest
from safetensors.torch import load_file, save_file

from lstmtext.errors import BundleError, OutputExistsError
from lstmtext.inference.bundle import load_bundle
from lstmtext.inference.predictor import Predictor


def test_bundle_files_are_a_hugging_face_style_folder_without_pickle(trained_run):
    out, _ = trained_run
    names = {p.name for p in (out / "model").iterdir()}
    assert names == {"config.json", "model.safetensors", "README.md", "preprocessing.json", "vocab.json",
                     "labels.json", "task.json", "metrics.json"}
    for p in (out / "model").iterdir():
        assert not p.read_bytes().startswith(b"\x80"), f"{p.name} looks pickled"
    config = json.loads((out / "model" / "config.json").read_text())
    assert config["format_version"] == 2 and config["architecture"] == "lstm" and config["model_type"] == "lstmtext"
    assert config["id2label"] == {"0": "negative", "1": "neutral", "2": "positive"} and config["num_labels"] == 3
    assert config["problem_type"] == "single_label_classification" and config["lstmtext"]["model"]["name"] == "lstm"


def test_config_json_and_model_safetensors_read_with_plain_libraries(trained_run):
    """Any tool reads the weights with plain safetensors and the labels from config.json, without lstmtext."""
    import numpy as np
    from safetensors import safe_open

    folder = trained_run[0] / "model"
    config = json.loads((folder / "config.json").read_text())
    with safe_open(folder / "model.safetensors", framework="numpy") as f:
        assert f.metadata()["library_name"] == "lstmtext"
        fc = f.get_tensor("fc.weight")
    assert fc.shape == (config["num_labels"], config["lstmtext"]["model"]["hidden_size"]) and fc.dtype == np.float32


def test_the_model_card_opens_with_hub_metadata(trained_run):
    card = (trained_run[0] / "model" / "README.md").read_text()
    head, body = card.split("\n---\n", 1)
    assert head.startswith("---\nlibrary_name: lstmtext\n") and "pipeline_tag: text-classification" in head
    assert "license: other" in head and "- lstm\n" in head and "dataset: {name: \"tiny.csv\", split: test}" in head
    assert "- {type: accuracy, value: " in head and "# Model card" in body


def test_run_outputs(trained_run):
    out, result = trained_run
    for name in ("metrics.json", "report.md", "history.json", "history.csv", "history.png", "confusion_valid.png",
                 "confusion_test.png"):
        assert (out / name).is_file(), name
    metrics = json.loads((out / "metrics.json").read_text())
    for split in ("valid", "test"):
        m = metrics[split]
        assert set(m) >= {"accuracy", "macro_f1", "weighted_f1", "per_class", "confusion_matrix"}
        assert sum(map(sum, m["confusion_matrix"])) == m["n"] == 6
        assert set(m["per_class"]["negative"]) == {"precision", "recall", "f1", "support", "predicted"}
    assert "| class | precision | recall | F1 | support |" in (out / "report.md").read_text()


def test_format_version_mismatch(trained_run, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(trained_run[0] / "model", copy)
    meta = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**meta, "format_version": 99}))
    with pytest.raises(BundleError, match="bundle format_version 99, but this lstmtext .* reads format_version 1, 2"):
        load_bundle(copy)


def test_shape_mismatch(trained_run, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(trained_run[0] / "model", copy)
    weights = load_file(copy / "model.safetensors")
    weights["fc.weight"] = weights["fc.weight"][:2]
    save_file(weights, copy / "model.safetensors")
    with pytest.raises(BundleError, match="model.safetensors: its bytes do not match the checksum recorded in config.json"):
        load_bundle(copy)
    config = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({k: v for k, v in config.items() if k != "weights_sha256"}))
    with pytest.raises(BundleError, match="model.safetensors does not match the architecture in config.json"):
        load_bundle(copy)  # a bundle saved before checksums: the shapes still give it away


def test_missing_file(trained_run, tmp_path):
    copy = tmp_path / "m"
    shutil.copytree(trained_run[0] / "model", copy)
    (copy / "vocab.json").unlink()
    with pytest.raises(BundleError, match="incomplete model folder, missing vocab.json"):
        load_bundle(copy)
    (copy / "model.safetensors").unlink()  # half of what marks a saved model: named, not "not a saved model"
    with pytest.raises(BundleError, match=r"m: model\.safetensors is missing, so this saved model cannot be loaded\."):
        load_bundle(copy)
    stray = tmp_path / "stray"
    stray.mkdir()
    (stray / "config.json").write_text('{"model_type": "bert"}')  # another tool's config alone: not half of ours
    with pytest.raises(BundleError, match=r"stray: not a saved model \(no config\.json \+ model\.safetensors"):
        load_bundle(stray)
    (stray / "lm.json").write_text("{}")  # what lstmtext pretrain writes
    with pytest.raises(BundleError, match=r"stray: a language model \(lstmtext pretrain\), not a classifier\. Train "
                                          r"one from it with `lstmtext train DATA --pretrained .*stray`\."):
        load_bundle(stray)


def test_a_save_killed_between_its_renames_loads_and_leaves_no_temporary_folder(trained_run, tmp_path):
    from lstmtext.classifier import TextClassifier

    clf = TextClassifier.load(trained_run[0])
    run = tmp_path / "run"
    clf.save(run / "model")
    (run / "model").rename(run / ".model.abc123de.old")  # killed after moving the old model aside
    assert load_bundle(run).path == run / ".model.abc123de.old"  # "not a saved model"; read where it is, not moved
    assert load_bundle(run / "model").path == run / ".model.abc123de.old"
    (run / ".model.v2.zyxw9876.old").mkdir()  # another target's (model.v2): never taken for model's
    import os
    import time

    stale, fresh, other = run / ".model.ucopbfth.tmp", run / ".model.a1b2c3d4.tmp", run / ".model.v2.qwer1234.tmp"
    for folder in (stale, fresh, other):  # a killed save's, one at work now, another target's
        folder.mkdir()
        (folder / "x").write_bytes(b"0" * 1000)
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    os.utime(other, (time.time() - 3600, time.time() - 3600))
    clf.save(run / "model", overwrite=True)
    assert sorted(p.name for p in run.iterdir()) == [".model.a1b2c3d4.tmp", ".model.v2.qwer1234.tmp",
                                                     ".model.v2.zyxw9876.old", "model"]


def test_refuses_to_overwrite(trained_run, tmp_path):
    from lstmtext.classifier import TextClassifier

    clf = TextClassifier.load(trained_run[0])
    clf.save(tmp_path / "m")
    before = (tmp_path / "m" / "model.safetensors").read_bytes()
    with pytest.raises(OutputExistsError, match="already saved there. Pass overwrite=True"):  # FileExistsError too
        clf.save(tmp_path / "m")
    assert (tmp_path / "m" / "model.safetensors").read_bytes() == before
    clf.save(tmp_path / "m", overwrite=True)


def test_overwrite_replaces_only_a_saved_model(trained_run, tmp_path):
    from lstmtext.classifier import TextClassifier

    clf = TextClassifier.load(trained_run[0])
    notes = tmp_path / "notes"
    notes.mkdir()
    (notes / "notes.txt").write_text("mine")
    data = tmp_path / "data.csv"
    data.write_text("text,label\n")
    for target, what in ((notes, "a folder of other files, not a saved model"),
                         (data, "a file: a model is saved as a folder"),
                         (trained_run[0], "a training run's folder \\(its model is in model/\\), not a saved model")):
        with pytest.raises(BundleError, match=f"is {what}\\. Saving there would replace it, so it is refused even "
                                              "with overwrite=True. Choose a new or empty folder."):
            clf.save(target, overwrite=True)
    assert (notes / "notes.txt").read_text() == "mine" and data.read_text() == "text,label\n"
    assert (trained_run[0] / "metrics.json").is_file()
    with pytest.raises(BundleError, match=r"data.csv is a file, so no folder can be made in it for .*data.csv/m\."):
        clf.save(data / "m")
    (tmp_path / "empty").mkdir()
    assert load_bundle(clf.save(tmp_path / "empty")).labels == list(clf.classes_)  # an empty folder loses nothing
    (tmp_path / "empty" / ".git").mkdir()  # a cloned model repository: the model may go, its .git may not
    with pytest.raises(BundleError, match=r"empty is a saved model that also holds \.git, which lstmtext did not write\. "
                                          r"Saving there would delete them, so it is refused even with overwrite=True"):
        clf.save(tmp_path / "empty", overwrite=True)
    assert (tmp_path / "empty" / ".git").is_dir()
    (tmp_path / "elsewhere").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "elsewhere")  # saved through a link: into the folder, the link kept
    clf.save(tmp_path / "link")
    clf.save(tmp_path / "link", overwrite=True)
    assert (tmp_path / "link").is_symlink() and load_bundle(tmp_path / "elsewhere").labels == list(clf.classes_)
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # nothing left aside


def test_crash_mid_save_leaves_old_bundle(trained_run, tmp_path, monkeypatch):
    from lstmtext.classifier import TextClassifier

    clf = TextClassifier.load(trained_run[0])
    clf.save(tmp_path / "m")

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr("lstmtext.inference.bundle.save_tensors", boom)
    with pytest.raises(OSError):
        clf.save(tmp_path / "m", overwrite=True)
    assert load_bundle(tmp_path / "m").labels == list(clf.classes_)
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_predictor_matches_across_reload(trained_run, tiny_frame):
    p1 = Predictor.from_bundle(trained_run[0])
    p2 = Predictor.from_bundle(trained_run[0] / "model")
    texts = tiny_frame["text"].tolist()
    assert (p1.predict_proba(texts) == p2.predict_proba(texts)).all()
    one_by_one = [p1.predict([t])[0].label for t in texts]
    assert [p.label for p in p1.predict(texts)] == one_by_one


def test_atomic_outputs_get_the_usual_permissions(tmp_path):
    import os

    from lstmtext.utils.atomic import atomic_dir, write_text

    mask = os.umask(0o022)
    try:
        write_text(tmp_path / "a.txt", "x")
        with atomic_dir(tmp_path / "d") as tmp:
            (tmp / "f").write_text("y")
            (tmp / "sub").mkdir(mode=0o700)
            private = os.open(tmp / "sub" / "model.safetensors", os.O_CREAT | os.O_WRONLY, 0o600)  # as save_file
            os.close(private)
    finally:
        os.umask(mask)
    assert (tmp_path / "a.txt").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "d").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "d" / "sub").stat().st_mode & 0o777 == 0o755
    assert (tmp_path / "d" / "sub" / "model.safetensors").stat().st_mode & 0o777 == 0o644


def test_a_crash_between_the_two_renames_is_recovered(tmp_path, monkeypatch):
    import os

    from lstmtext.training.checkpoint import load_checkpoint
    from lstmtext.utils import atomic

    with atomic.atomic_dir(tmp_path / "ckpt") as tmp:
        (tmp / "state.json").write_text("first")
    real_replace, calls = os.replace, []

    def crash_on_second(src, dst):  # the old folder is moved aside, then the process dies
        calls.append(dst)
        if len(calls) == 2:
            raise KeyboardInterrupt
        real_replace(src, dst)

    monkeypatch.setattr(atomic.os, "replace", crash_on_second)
    with pytest.raises(KeyboardInterrupt):
        with atomic.atomic_dir(tmp_path / "ckpt", overwrite=True) as tmp:
            (tmp / "state.json").write_text("second")
    monkeypatch.setattr(atomic.os, "replace", real_replace)
    assert not (tmp_path / "ckpt").exists() and len(list(tmp_path.glob(".ckpt.*.old"))) == 1
    with pytest.raises(BundleError, match="missing last.safetensors"):  # put back, then read as it was
        load_checkpoint(tmp_path / "ckpt")
    assert (tmp_path / "ckpt" / "state.json").read_text() == "first" and not list(tmp_path.glob(".ckpt.*"))


def test_saved_weights_are_readable_by_others(trained_run):
    out, _ = trained_run
    weights = [out / "model" / "model.safetensors", *(out / "checkpoint").rglob("*.safetensors")]
    assert len(weights) > 1
    for path in weights:
        assert path.stat().st_mode & 0o044 == 0o044, path


def test_a_bundle_carries_the_lexicon_its_cleaning_reads(trained_run, tmp_path):
    """A model trained with the user's own slang lexicon cleans the same way once that file is gone or edited,
    wherever the folder is moved."""
    from lstmtext.inference.bundle import save_bundle
    from lstmtext.preprocess.pipeline import Pipeline

    saved = load_bundle(trained_run[0])
    lexicon = tmp_path / "my-slang.tsv"
    lexicon.write_text("slang\tformal\ngk\ttidak\nbgt\tbanget\n", encoding="utf-8")
    saved.encoder.pipeline = Pipeline(["lowercase", "normalize_slang"],
                                      {"normalize_slang": {"lexicon": str(lexicon), "overrides": ""}})
    save_bundle(tmp_path / "m", saved.config, saved.encoder, saved.task, saved.model)
    lexicon.write_text("slang\tformal\ngk\tenggak\n", encoding="utf-8")  # edited after training
    (tmp_path / "m").rename(tmp_path / "moved")
    spec = json.loads((tmp_path / "moved" / "preprocessing.json").read_text())["pipeline"]
    assert spec["options"]["normalize_slang"] == {"lexicon": "resources/normalize_slang.lexicon.tsv", "overrides": ""}
    lexicon.unlink()
    assert load_bundle(tmp_path / "moved").encoder.pipeline.clean_many(["Gk enak BGT"]) == ["tidak enak banget"]
    (tmp_path / "moved" / "resources" / "normalize_slang.lexicon.tsv").unlink()  # a partial copy of the folder
    with pytest.raises(BundleError, match=r"moved: resources/normalize_slang.lexicon.tsv is missing \(the model's copy "
                                          r"of preprocess.options.normalize_slang.lexicon"):
        load_bundle(tmp_path / "moved")


def test_predictor_refuses_one_string_and_a_top_k_below_one(trained_run):
    import numpy as np

    from lstmtext.errors import ConfigError, DataError

    predictor = Predictor.from_bundle(trained_run[0] / "model")
    with pytest.raises(DataError, match=r"^texts: one string \('lost my bag'\), not a sequence of texts: pass \[text\]"):
        predictor.predict("lost my bag")  # a string is a sequence: 11 one-letter texts, silently
    with pytest.raises(DataError, match="one string"):
        predictor.predict_proba("lost my bag")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ConfigError, match=r"top_k must be a whole number of 1 or more"):
            predictor.predict(["lost my bag"], top_k=bad)
    assert len(predictor.predict(["lost my bag"], top_k=np.int64(2))[0].top_k) == 2


@pytest.mark.parametrize(("name", "content", "message"), [
    ("task.json", None, r"missing task\.json \(the model's temperatures\)"),
    ("task.json", '{"temperatures": [1, 2]}', r"temperatures: 1 expected \(one per output group\), got \[1, 2\]"),
    ("task.json", '{"temperatures": [0]}', r"temperatures must be finite numbers above 0, got \[0\]"),
    ("vocab.json", "{}", r"vocab\.json or preprocessing\.json is not what lstmtext wrote \(KeyError: 'itos'\)"),
    ("preprocessing.json", "{}", r"vocab\.json or preprocessing\.json is not what lstmtext wrote"),
    ("labels.json", None, r"labels\.json does not match config\.json's id2label"),
    ("preprocessing.json", "max_len=-3", r"preprocessing\.json is not what lstmtext wrote \(ValueError: max_len must be a "
                                         r"whole number of at least 1, got -3\)\. Re-save or re-train the model\.$"),
    ("preprocessing.json", "truncating=middle", r"\(ValueError: truncating must be 'pre' or 'post', got 'middle'\)"),
    ("task.json", "{not json", r"task\.json: corrupt JSON \(.*\)\. Re-save the model\.$"),  # not wrapped in another
    # emptied: it loaded, and every probability silently lost its calibration
    ("task.json", "{}", r"task\.json: the model's temperatures are not in it, though config\.json says they were saved"),
    ("task.json", "null", r"task\.json: the model's temperatures are not in it"),
    ("task.json", '{"temperatures": null}', r"task\.json: the model's temperatures are not in it"),
    ("config.json", "[]", r"config\.json: not what lstmtext wrote \(a JSON list, not an object\)"),
    ("config.json", b'{"format_version": 2, "x": "\xff\xfe"}', r"config\.json: corrupt JSON \(.*can't decode byte 0xff"),
])
def test_an_edited_bundle_file_is_refused_in_one_line(trained_run, tmp_path, name, content, message):
    bundle = tmp_path / "model"
    shutil.copytree(trained_run[0] / "model", bundle)
    assert json.loads((bundle / "config.json").read_text())["task_state"] == ["temperatures"]
    if name == "labels.json":  # the same classes in another order: every answer would be misnamed
        content = json.dumps(list(reversed(json.loads((bundle / name).read_text()))))
    if content is None:
        (bundle / name).unlink()
    elif isinstance(content, bytes):
        (bundle / name).write_bytes(content)
    elif "=" in content and not content.startswith("{"):  # one key of the saved file changed
        key, value = content.split("=")
        saved = json.loads((bundle / name).read_text())
        saved[key] = int(value) if value.lstrip("-").isdigit() else value
        (bundle / name).write_text(json.dumps(saved))
    else:
        (bundle / name).write_text(content)
    with pytest.raises(BundleError, match=message) as err:
        load_bundle(bundle)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda c: c["model"].update(hiden_size=c["model"].pop("hidden_size")), r"model\.hiden_size: Extra inputs"),
    (lambda c: c["train"].update(epochs="two"), r"train\.epochs: Input should be a valid integer"),
])
def test_a_config_this_lstmtext_cannot_read_is_one_line(trained_run, tmp_path, edit, message):
    bundle = tmp_path / "model"
    shutil.copytree(trained_run[0] / "model", bundle)
    meta = json.loads((bundle / "config.json").read_text())
    edit(meta["lstmtext"])
    (bundle / "config.json").write_text(json.dumps(meta))
    with pytest.raises(BundleError, match=r"config\.json: its lstmtext config does not load here: " + message) as err:
        load_bundle(bundle)
    assert "\n" not in str(err.value) and "newer one" in str(err.value)


def test_tuned_thresholds_just_over_one_load_but_not_nan():
    import math

    from lstmtext.models.heads import OutputLayout
    from lstmtext.tasks.state import check_state

    layout = OutputLayout((2,), activation="sigmoid")
    never = math.nextafter(1.0, math.inf)  # micro_thresholds' "choose it for no text" when a probability is 1.0
    check_state({"thresholds": [0.5, never], "temperatures": [1.0, 0.05]}, layout)
    with pytest.raises(ValueError, match="thresholds must be finite numbers"):
        check_state({"thresholds": [0.5, float("nan")]}, layout)


def test_recovering_a_folder_another_rank_put_back_is_quiet(tmp_path, monkeypatch):
    import os

    from lstmtext.utils import atomic

    aside = tmp_path / ".ckpt.abc12345.old"  # as mkdtemp names it
    aside.mkdir()

    def lose_the_race(src, dst):  # between this rank's listing and its rename, another rank moved it back
        os.rename(aside, tmp_path / "ckpt")
        raise FileNotFoundError(src)

    monkeypatch.setattr(atomic.os, "replace", lose_the_race)
    assert atomic.recover_dir(tmp_path / "ckpt") and (tmp_path / "ckpt").is_dir()


def test_a_training_run_checks_its_model_folder_before_it_trains(trained_run, tmp_path, monkeypatch):
    import shutil

    from helpers import TINY, TINY_OVERRIDES
    from lstmtext.config import build_config
    from lstmtext.pipeline import run

    out = tmp_path / "run"
    shutil.copytree(trained_run[0], out)
    (out / "model" / "notes.txt").write_text("mine")
    trained = []
    monkeypatch.setattr("lstmtext.pipeline.runner.fit_model", lambda *a, **k: trained.append(1) / 0)
    with pytest.raises(BundleError, match=r"model is a saved model that also holds notes\.txt, which lstmtext did not "
                                          r"write"):
        run(build_config(None, overrides=TINY_OVERRIDES), TINY, out, overwrite=True, progress=False)
    assert trained == []  # refused before the training, not after it (the epochs were spent, then nothing saved)
    (out / "model" / "notes.txt").unlink()
    (out / "model" / "other.onnx").write_bytes(b"an exported graph")  # export --out into the folder: the old model's
    monkeypatch.undo()
    run(build_config(None, overrides=[*TINY_OVERRIDES, "train.epochs=1"]), TINY, out, overwrite=True, progress=False)
    assert not (out / "model" / "other.onnx").exists() and load_bundle(out).config.train.epochs == 1


def test_an_onnx_file_given_as_the_model_points_to_the_onnx_option(tmp_path):
    graph = tmp_path / "model.onnx"
    graph.write_bytes(b"\x08\x07")
    with pytest.raises(BundleError, match=rf"model\.onnx: an ONNX graph, not a saved model\. Give the model's folder "
                                          rf"and the graph with --onnx: e\.g\. `{tmp_path} --onnx {graph}`"):
        load_bundle(graph)
