"""ONNX export and the ONNX Runtime predictor: parity with the packed PyTorch model, files, errors and the CLI."""

import json
import logging
import shutil
import warnings

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from torch import nn
from typer.testing import CliRunner

from helpers import classify_task
from lstmtext.cli import app
from lstmtext.config import ModelConfig
from lstmtext.encoding.batching import collate
from lstmtext.errors import BundleError, ConfigError, OutputExistsError
from lstmtext.inference.bundle import load_bundle
from lstmtext.inference.engines import OnnxPredictor, load_predictor
from lstmtext.inference.onnx import build_onnx, bundle_metadata, export_onnx
from lstmtext.inference.predictor import Predictor
from lstmtext.models import build_model
from lstmtext.server import ServeSettings, create_app

with warnings.catch_warnings():  # starlette warns that it prefers httpx2; the httpx client works the same here
    warnings.simplefilter("ignore")
    from fastapi.testclient import TestClient

runner = CliRunner()
LENGTHS = [5, 1, 9, 3, 9, 2, 7]


def _run(proto, ids, lengths):
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    session = ort.InferenceSession(proto.SerializeToString(), opts, providers=["CPUExecutionProvider"])
    return session.run(None, {"ids": ids, "lengths": lengths})


@pytest.fixture(scope="module")
def sequences():
    rng = np.random.default_rng(0)
    return [rng.integers(1, 40, size=n).tolist() for n in LENGTHS]


@pytest.mark.parametrize(("name", "extra"), [
    ("lstm", {}),
    ("bilstm", {}),
    ("gru", {"bidirectional": True}),
    ("rnn", {"bidirectional": True, "options": {"nonlinearity": "relu"}}),
    ("lstm", {"num_layers": 2, "bidirectional": True, "pooling": "mean"}),
    ("gru", {"num_layers": 2, "pooling": "max"}),
    ("bilstm", {"pooling": "max"}),
    ("bilstm", {"pooling": "concat", "options": {"weight_drop": 0.3}}),  # weight drop: training only
])
def test_graph_matches_the_packed_model(name, extra, sequences):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name=name, embedding_dim=8, hidden_size=6, **extra), 40, 3).eval()
    batch = collate(sequences, np.arange(len(sequences)))  # post-padded to the longest (9)
    with torch.no_grad():
        logits = model(batch.ids, batch.lengths)
    got_logits, got_proba = _run(build_onnx(model, classify_task(["a", "b", "c"])), batch.ids.numpy(), batch.lengths.numpy())
    np.testing.assert_allclose(got_logits, logits.numpy(), atol=1e-5)
    np.testing.assert_allclose(got_proba, torch.softmax(logits, 1).numpy(), atol=1e-6)
    alone = collate(sequences[1:2], np.arange(1))  # the same text without padding: same output
    np.testing.assert_allclose(_run(build_onnx(model, classify_task(["a", "b", "c"])), alone.ids.numpy(), alone.lengths.numpy())[0],
                               got_logits[1:2], atol=1e-5)


def test_padding_side_matters(sequences):
    torch.manual_seed(0)
    model = build_model(ModelConfig(name="bilstm", embedding_dim=8, hidden_size=6), 40, 3).eval()
    post = collate(sequences, np.arange(len(sequences)))
    pre = torch.stack([torch.roll(row, int(post.ids.shape[1] - n)) for row, n in zip(post.ids, post.lengths)])
    proto = build_onnx(model, classify_task(["a", "b", "c"]))
    right = _run(proto, post.ids.numpy(), post.lengths.numpy())[1]
    wrong = _run(proto, pre.numpy(), post.lengths.numpy())[1]
    full = post.lengths == post.ids.shape[1]  # rows without padding read the same either way
    np.testing.assert_allclose(wrong[full.numpy()], right[full.numpy()], atol=1e-6)
    assert np.abs(wrong[~full.numpy()] - right[~full.numpy()]).max() > 1e-3


def test_graph_inputs_outputs_and_metadata():
    model = build_model(ModelConfig(name="lstm", embedding_dim=4, hidden_size=3), 10, 2).eval()
    proto = build_onnx(model, classify_task(["late, rude", "y"]), {"bundle_created": "then"})
    dims = lambda v: [d.dim_param or d.dim_value for d in v.type.tensor_type.shape.dim]  # noqa: E731
    assert [(v.name, dims(v)) for v in proto.graph.input] == [("ids", ["batch", "time"]), ("lengths", ["batch"])]
    assert [(v.name, dims(v)) for v in proto.graph.output] == [("logits", ["batch", 2]), ("probabilities", ["batch", 2])]
    meta = {p.key: p.value for p in proto.metadata_props}
    # the labels as a JSON array: comma-joined, 'late, rude' read back as two labels
    assert (json.loads(meta["labels"]), meta["padding"], meta["bundle_created"]) == (["late, rude", "y"], "post", "then")


def test_a_non_recurrent_model_is_refused():
    with pytest.raises(BundleError, match=r"ONNX export supports the built-in models \(lstm, .*\); got Linear. Serve this model with --engine torch."):
        build_onnx(nn.Linear(2, 2), classify_task(["a", "b"]))


@pytest.fixture(scope="module")
def exported(trained_run, tmp_path_factory):
    """A copy of the trained bundle with model.onnx and model.int8.onnx, written by the CLI."""
    bundle = tmp_path_factory.mktemp("export") / "model"
    shutil.copytree(trained_run[0] / "model", bundle)
    result = runner.invoke(app, ["export", str(bundle), "--format", "onnx", "--quantize"])
    assert result.exit_code == 0, result.output
    return bundle, result.output


def test_export_cli_writes_both_files_atomically(exported):
    bundle, output = exported
    assert f"wrote {bundle / 'model.onnx'} and {bundle / 'model.int8.onnx'}" in output.replace("\n", "")
    assert "parity with PyTorch on random sequences: max |Δp|" in output and "same label 100.0%" in output
    assert sorted(p.name for p in bundle.iterdir() if p.name.startswith(".")) == []  # no temporary files left
    onnx.checker.check_model(str(bundle / "model.int8.onnx"))
    assert "--onnx" not in output  # in the bundle: every engine finds it unnamed


def test_onnx_predictor_parity_on_texts(exported, tiny_frame):
    bundle, _ = exported
    texts = tiny_frame["text"].tolist() + ["", "completely unseen words here"]
    torch_p, onnx_p = Predictor.from_bundle(bundle), load_predictor(bundle, "onnx", batch_size=7)
    expected, got = torch_p.predict_proba(texts), onnx_p.predict_proba(texts)
    assert isinstance(onnx_p, OnnxPredictor) and np.abs(got - expected).max() < 1e-4
    assert [p.label for p in onnx_p.predict(texts)] == [p.label for p in torch_p.predict(texts)]
    int8 = load_predictor(bundle, "onnx-int8").predict_proba(texts)
    assert np.abs(int8 - expected).max() < 0.05  # small weights quantise well; the airline figure is in docs/serving.md


def test_one_or_two_texts_run_on_a_one_thread_session_with_the_same_answers(exported, tiny_frame):
    bundle, _ = exported
    texts = tiny_frame["text"].tolist()[:9] + [""]  # one text goes straight to the graph, without sorting or padding
    p = load_predictor(bundle, "onnx", threads=2)
    batch = p.predict_proba(texts)  # 10 texts: the session with every thread
    assert p._one_thread is None
    one_by_one = np.concatenate([p.predict_proba([t]) for t in texts])
    pairs = p.predict_proba(texts[:2])
    assert p._one_thread is not None and p._one_thread is not p.session
    assert p._one_thread.get_session_options().intra_op_num_threads == 1
    assert np.abs(one_by_one - batch).max() < 1e-5 and np.abs(pairs - batch[:2]).max() < 1e-5


def test_onnx_built_in_memory_when_not_exported(trained_run):
    bundle = trained_run[0] / "model"
    texts = ["@airline great crew", "worst delay"]
    got = load_predictor(bundle, "onnx").predict_proba(texts)
    assert np.abs(got - Predictor.from_bundle(bundle).predict_proba(texts)).max() < 1e-4


def test_a_file_from_another_bundle_is_refused(trained_run):
    bundle = load_bundle(trained_run[0] / "model")
    proto = build_onnx(bundle.model, bundle.task, {**bundle_metadata(bundle), "bundle_created": "1999-01-01"})
    with pytest.raises(BundleError, match=r"^the ONNX graph: exported from another model .* Re-export it: lstmtext "
                                          r"export .*model --overwrite$"):
        OnnxPredictor(bundle, proto.SerializeToString())


def test_engine_errors(trained_run, tmp_path):
    bundle = trained_run[0] / "model"
    with pytest.raises(ConfigError, match="--engine \\(engine\\) must be one of auto, torch, torch-bf16, onnx, onnx-int8. Got 'tf' instead."):
        load_predictor(bundle, "tf")
    with pytest.raises(BundleError, match=rf"no such ONNX file\. Write it with: lstmtext export {bundle} --out "
                                          rf"{tmp_path / 'none.onnx'}$"):
        load_predictor(bundle, "onnx", onnx_path=tmp_path / "none.onnx")


def test_export_overwrite_removes_the_old_int8_copy_only_when_lstmtext_wrote_it(trained_run, tmp_path, caplog):
    bundle = trained_run[0] / "model"
    target = export_onnx(bundle, tmp_path / "keep.onnx", quantize=True)
    int8 = tmp_path / "keep.int8.onnx"
    assert int8.is_file()
    export_onnx(bundle, target, overwrite=True)  # this model's int8 copy: still this graph's, kept (it was deleted)
    assert int8.is_file()
    loaded = load_bundle(bundle)  # another model's int8 copy: the new float graph's would be the old one's
    onnx.save(build_onnx(loaded.model, loaded.task, {**bundle_metadata(loaded), "bundle_created": "1999-01-01"}), str(int8))
    export_onnx(bundle, target, overwrite=True)
    assert not int8.exists()
    int8.write_text("u8")  # a file of the user's with that name: it was deleted as "the int8 copy"
    with caplog.at_level("WARNING"):
        export_onnx(bundle, target, overwrite=True)
    assert int8.read_text() == "u8" and "left " in caplog.text and "not a graph lstmtext exported" in caplog.text


def test_export_to_a_given_path(trained_run, tmp_path):
    target = export_onnx(trained_run[0] / "model", tmp_path / "sub" / "m.onnx")
    assert target == tmp_path / "sub" / "m.onnx" and target.is_file()
    assert target.stat().st_mode & 0o044 == 0o044  # readable by others, as any new file
    assert not (trained_run[0] / "model" / "model.onnx").exists()
    (tmp_path / "folder").mkdir()
    assert export_onnx(trained_run[0] / "model", tmp_path / "folder") == tmp_path / "folder" / "model.onnx"
    # a folder not made yet: written with a trailing slash, or a new name without a suffix (it had become a file)
    assert export_onnx(trained_run[0] / "model", f"{tmp_path}/new/") == tmp_path / "new" / "model.onnx"
    assert export_onnx(trained_run[0] / "model", tmp_path / "exports") == tmp_path / "exports" / "model.onnx"
    with pytest.raises(ConfigError, match=r"name the float file .* written beside it as model\.int8\.onnx"):
        export_onnx(trained_run[0] / "model", tmp_path / "b.int8.onnx", quantize=True)  # had written b.int8.int8.onnx


def test_export_never_replaces_a_file_unasked(trained_run, tmp_path):
    from typer.testing import CliRunner

    from lstmtext.cli import app

    precious = tmp_path / "notes.onnx"
    precious.write_text("mine", encoding="utf-8")
    result = CliRunner().invoke(app, ["export", str(trained_run[0] / "model"), "--out", str(precious), "--no-check"])
    assert result.exit_code == 1 and str(result.exception) == (
        f"{precious} is already there. Pass --overwrite to replace it, or choose another file.")
    assert precious.read_text(encoding="utf-8") == "mine"
    target = tmp_path / "m.onnx"
    (tmp_path / "m.int8.onnx").write_text("older int8", encoding="utf-8")
    with pytest.raises(OutputExistsError, match="m.int8.onnx is already there"):  # checked before anything is written
        export_onnx(trained_run[0] / "model", target, quantize=True)
    assert not target.exists()
    assert export_onnx(trained_run[0] / "model", target, quantize=True, overwrite=True) == target
    assert (tmp_path / "m.int8.onnx").read_bytes() != b"older int8"
    # replaced without --quantize: the int8 copy stays, this model's (another model's goes: the test above)
    assert export_onnx(trained_run[0] / "model", target, overwrite=True) == target
    assert (tmp_path / "m.int8.onnx").is_file()
    (tmp_path / "m.int8.onnx").unlink()  # the float file is this model's: --quantize adds its int8 copy alone
    before = target.stat().st_mtime_ns
    assert export_onnx(trained_run[0] / "model", target, quantize=True) == target
    assert (tmp_path / "m.int8.onnx").is_file() and target.stat().st_mtime_ns == before
    blocked = tmp_path / "notes.onnx" / "m.onnx"  # a file where its folder would be: a traceback had said so
    result = CliRunner().invoke(app, ["export", str(trained_run[0] / "model"), "--out", str(blocked), "--no-check"])
    assert result.exit_code == 1 and str(result.exception) == (
        f"{blocked}: {precious} is a file, so no folder can be made there. Choose another path.")


def test_export_refuses_a_name_without_onnx_and_another_models_folder(trained_run, tmp_path):
    import shutil

    from lstmtext.inference.onnx import check_parity

    with pytest.raises(ConfigError, match=r"--out .*v1\.2: an ONNX file's name ends in \.onnx \(v1\.2\.onnx\)"):
        export_onnx(trained_run[0] / "model", tmp_path / "v1.2")  # was written as the file "v1.2"
    other = tmp_path / "other"
    shutil.copytree(trained_run[0], other)
    meta = json.loads((other / "model" / "config.json").read_text())
    for target in (other / "model" / "model.onnx", other / "x.onnx"):  # its engines would skip it as another model's
        with pytest.raises(ConfigError, match=r"is another saved model's folder"):
            export_onnx(trained_run[0] / "model", target)
    assert json.loads((other / "model" / "config.json").read_text()) == meta
    # the parity check compares a graph only with the model it was exported from (it had printed 0.036, 100%)
    graph = export_onnx(trained_run[0] / "model", tmp_path / "g.onnx")
    (other / "model" / "config.json").write_text(json.dumps({**meta, "created": "1999-01-01T00:00:00"}))
    with pytest.raises(BundleError, match=r"g\.onnx: exported from another model .* Re-export it: lstmtext export "
                                          r".*other.* --out .*g\.onnx --overwrite"):
        check_parity(other, graph)


def test_another_models_graph_is_not_to_be_written_over_and_onnx_options_are_checked(trained_run, tmp_path, caplog):
    other = tmp_path / "other"
    shutil.copytree(trained_run[0], other)
    meta = json.loads((other / "model" / "config.json").read_text())
    (other / "model" / "config.json").write_text(json.dumps({**meta, "created": "1999-01-01T00:00:00"}))
    graph = export_onnx(other / "model")  # that model's own graph, in its folder
    with pytest.raises(BundleError, match=r"exported from another model .* It is the graph of the model in .*other/model: "
                                          r"leave --onnx out, or write this model's own with lstmtext export "):
        load_predictor(trained_run[0] / "model", "onnx", onnx_path=graph)  # it had advised export --out <that file>
    with caplog.at_level(logging.WARNING):
        assert load_predictor(trained_run[0] / "model", "torch", onnx_path=graph).engine == "torch"
    assert f"{graph}: not read: the torch engine reads no ONNX graph" in caplog.text  # it was ignored without a word
    folder = tmp_path / "exported"
    export_onnx(trained_run[0] / "model", f"{folder}/")  # export --out takes a folder: so does --onnx
    assert load_predictor(trained_run[0] / "model", "onnx", onnx_path=folder).engine_source == str(folder / "model.onnx")


def test_an_unreadable_onnx_file_is_one_line(trained_run, tmp_path):
    broken = tmp_path / "broken.onnx"
    broken.write_text("garbage")
    with pytest.raises(BundleError, match=r"broken\.onnx: ONNX Runtime cannot load it \(.*\)\. Re-export it: ") as err:
        load_predictor(trained_run[0] / "model", "onnx", onnx_path=broken)
    assert "\n" not in str(err.value)


def test_predict_cli_and_server_with_the_onnx_engine(exported):
    bundle, _ = exported
    texts = ["@airline thanks my crew flight service the great your!", "@airline your awful service worst today."]
    result = runner.invoke(app, ["predict", str(bundle), *texts, "--engine", "onnx", "--top-k", "3"])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.output.strip().splitlines()]
    expected = Predictor.from_bundle(bundle).predict(texts, top_k=3)
    assert [line["label"] for line in lines] == [p.label for p in expected]
    with TestClient(create_app(ServeSettings(bundle=bundle, engine="onnx"))) as c:
        assert c.get("/info").json()["engine"] == "onnx"
        got = c.post("/predict", json={"texts": texts, "top_k": 3}).json()["predictions"]
    assert [p["label"] for p in got] == [p.label for p in expected]
    assert np.abs(np.array([[s["score"] for s in p["top_k"]] for p in got])
                  - np.array([[s["score"] for s in p.top_k] for p in expected])).max() < 1e-4


def test_engine_auto_picks_the_fastest_float_graph_and_never_int8(exported, tmp_path, caplog):
    bundle, _ = exported
    texts = ["@airline great crew", "worst delay", ""]
    expected = Predictor.from_bundle(bundle).predict_proba(texts)
    p = load_predictor(bundle)  # the default: auto, beside model.int8.onnx too (its answers depend on the batch)
    assert (p.engine, p.engine_source) == ("onnx", str(bundle / "model.onnx"))
    assert np.abs(p.predict_proba(texts) - expected).max() < 1e-4
    alone = np.concatenate([p.predict_proba([t]) for t in texts])
    assert np.abs(alone - p.predict_proba(texts)).max() < 1e-5  # the float graph: not on its batch-mates
    copy = tmp_path / "float-only"
    shutil.copytree(bundle, copy)
    (copy / "model.onnx").unlink()
    with caplog.at_level("INFO", logger="lstmtext.inference.engines"):
        p = load_predictor(copy, "auto")
    assert (p.engine, p.engine_source) == ("onnx", "built in memory")  # int8 only when asked for
    assert "engine auto: onnx (built in memory)" in caplog.text
    assert np.abs(p.predict_proba(texts) - expected).max() < 1e-4
    assert load_predictor(copy, "torch").engine == "torch"


def test_engine_auto_skips_a_stale_file_and_falls_back_to_torch(trained_run, tmp_path, monkeypatch, caplog):
    bundle = tmp_path / "model"
    shutil.copytree(trained_run[0] / "model", bundle)
    loaded = load_bundle(bundle)
    stale = build_onnx(loaded.model, loaded.task, {**bundle_metadata(loaded), "bundle_created": "1999-01-01"})
    onnx.save(stale, str(bundle / "model.onnx"))
    with caplog.at_level("WARNING", logger="lstmtext.inference.engines"):
        p = load_predictor(bundle)
    assert (p.engine, p.engine_source) == ("onnx", "built in memory")
    assert "engine auto: skipped model.onnx:" in caplog.text and "exported from another model" in caplog.text
    # the same file named with --onnx: refused, not passed over for a graph built in memory (served as "onnx")
    named = tmp_path / "named.onnx"
    shutil.copy(bundle / "model.onnx", named)
    with pytest.raises(BundleError, match=r"named.onnx: exported from another model"):
        load_predictor(bundle, onnx_path=named)
    # an int8 file asked for beside a float one: written there, not into the bundle (export refuses that file)
    with pytest.raises(BundleError, match=rf"named.int8.onnx: no such ONNX file\. Write it with: lstmtext export "
                                          rf"{bundle} --out {named} --quantize --overwrite$"):
        load_predictor(bundle, "onnx-int8", onnx_path=named)
    (bundle / "model.onnx").unlink()

    def refuse(*args, **kwargs):
        raise BundleError("ONNX export supports the built-in models (...); got Mine. Serve this model with --engine torch.")

    monkeypatch.setattr("lstmtext.inference.onnx.build_onnx", refuse)
    caplog.clear()
    with caplog.at_level("WARNING", logger="lstmtext.inference.engines"):
        p = load_predictor(bundle)
    assert type(p) is Predictor and p.engine == "torch"
    assert "engine auto: ONNX export supports the built-in models (...); got Mine; using torch" in caplog.text
    monkeypatch.setitem(__import__("sys").modules, "onnxruntime", None)  # ONNX Runtime not installed
    caplog.clear()
    with caplog.at_level("WARNING", logger="lstmtext.inference.engines"):
        assert load_predictor(bundle).engine == "torch"
    assert "the onnxruntime package is not installed (pip install 'lstmtext[export]'); using torch" in caplog.text
    monkeypatch.delitem(__import__("sys").modules, "onnxruntime")
    monkeypatch.setitem(__import__("sys").modules, "onnx", None)  # ONNX Runtime alone: a traceback before
    caplog.clear()
    with caplog.at_level("WARNING", logger="lstmtext.inference.engines"):
        assert load_predictor(bundle).engine == "torch"
    assert "the onnx package is not installed (pip install 'lstmtext[export]'); using torch" in caplog.text
    with pytest.raises(ConfigError, match=r"^--engine onnx: the onnx package is not installed .*--engine torch\.$"):
        load_predictor(bundle, "onnx")


def test_an_int8_graph_runs_as_onnx_int8_and_is_refused_as_the_float_one(exported, tmp_path, caplog):
    """auto and onnx ran a quantised file named with --onnx and reported "onnx"; onnx-int8 looked for
    model.int8.int8.onnx when given the int8 file itself."""
    bundle, _ = exported
    export_onnx(bundle, tmp_path / "m.onnx", quantize=True)
    int8 = tmp_path / "m.int8.onnx"
    renamed = tmp_path / "served.onnx"  # a quantised graph under a float file's name: found by its operators
    shutil.copy(int8, renamed)
    for path in (int8, renamed):
        with caplog.at_level("WARNING", logger="lstmtext.inference.engines"):
            p = load_predictor(bundle, onnx_path=path)
        assert (p.engine, p.engine_source) == ("onnx-int8", str(path)) and "running it as onnx-int8" in caplog.text
        with pytest.raises(BundleError, match=r"a quantised \(int8\) graph, and --engine onnx runs the float one\. "
                                              r"Give --engine onnx-int8"):
            load_predictor(bundle, "onnx", onnx_path=path)
        assert load_predictor(bundle, "onnx-int8", onnx_path=path).engine_source == str(path)
    assert load_predictor(bundle, "onnx-int8", onnx_path=tmp_path / "m.onnx").engine_source == str(int8)


def test_a_graph_of_other_weights_is_refused_even_when_saved_in_the_same_second(exported, tmp_path):
    bundle, _ = exported
    loaded = load_bundle(bundle)
    other = {**bundle_metadata(loaded), "weights_sha256": "0" * 64}  # same creation time, other weights
    onnx.save(build_onnx(loaded.model, loaded.task, other), str(tmp_path / "other.onnx"))
    with pytest.raises(BundleError, match=r"other\.onnx: exported from another model \(weights 000000000000, this "
                                          r"bundle [0-9a-f]{12}\)"):
        load_predictor(bundle, "onnx", onnx_path=tmp_path / "other.onnx")


def test_the_server_reports_the_engine_auto_chose(exported):
    bundle, _ = exported
    with TestClient(create_app(ServeSettings(bundle=bundle))) as c:
        assert c.get("/info").json()["engine"] == "onnx"
        assert c.post("/predict", json={"texts": ["worst delay"]}).status_code == 200


def test_quantizing_does_not_pass_on_onnxruntimes_advice_to_its_developers(exported, tmp_path, caplog):
    from lstmtext.inference.onnx.files import quantize_onnx

    bundle, output = exported
    assert "pre-processing" not in output
    with caplog.at_level("INFO"):
        quantize_onnx(bundle / "model.onnx", tmp_path / "q.onnx")
    assert (tmp_path / "q.onnx").stat().st_size > 0
    assert not [r for r in caplog.records if "pre-processing" in r.getMessage()]


def test_evaluate_scores_with_the_engine_predict_and_serve_use(trained_run, tiny_path, tmp_path):
    import shutil

    from lstmtext.inference.engines import load_predictor
    from lstmtext.pipeline.evaluate import evaluate_file

    bundle = tmp_path / "model"
    shutil.copytree(trained_run[0] / "model", bundle)
    export_onnx(bundle, quantize=True)
    assert evaluate_file(bundle, tiny_path)["engine"] == "torch"  # the library's default: the model as trained
    auto = evaluate_file(bundle, tiny_path, engine="auto")
    assert auto["engine"] == load_predictor(bundle).engine == "onnx"  # what predict and serve would run
    assert evaluate_file(bundle, tiny_path, engine="onnx")["accuracy"] == auto["accuracy"]


def test_evaluate_warns_when_the_file_is_the_training_file(trained_run, tiny_path, tiny_frame, tmp_path):
    from lstmtext.pipeline.evaluate import evaluate_file

    notes = evaluate_file(trained_run[0] / "model", tiny_path, out=tmp_path / "ev")["notes"]  # the training file
    train_rows = int((tiny_frame["split"] == "train").sum())
    # counted by the run folder's fingerprints of the training texts (by the split column where there are none)
    said = f"{train_rows} of its {len(tiny_frame)} texts were training texts of this model (its run folder's"
    assert [n for n in notes if said in n]
    report = (tmp_path / "ev" / "report.md").read_text()  # it held the scores alone, as if they meant something
    assert report.startswith(f"- note: {tiny_path}: {said}")
    one = tmp_path / "one.csv"  # one training row alone: "1 of its 1 texts was" read oddly
    tiny_frame[tiny_frame["split"] == "train"].head(1).drop(columns="split").to_csv(one, index=False)
    assert any(f"{one}: its one text was a training text of this model" in n for n in evaluate_file(
        trained_run[0] / "model", one)["notes"])
    import shutil

    bare = tmp_path / "bare"  # a model folder alone, as shared: no fingerprints, the split column still tells
    shutil.copytree(trained_run[0] / "model", bare)
    notes = evaluate_file(bare, tiny_path)["notes"]
    assert [n for n in notes if f"{train_rows} of its rows are training rows by the split column 'split' the model" in n]
    held_out = tmp_path / "test.csv"
    tiny_frame[tiny_frame["split"] == "test"].to_csv(held_out, index=False)  # its split column says test alone
    assert not [n for n in evaluate_file(trained_run[0] / "model", held_out).get("notes", []) if "split column" in n]


def test_evaluate_no_header_reads_the_columns_as_text_and_label(trained_run, tiny_frame, tmp_path):
    import json
    import shutil

    from lstmtext.pipeline.evaluate import evaluate_file

    bundle = tmp_path / "model"  # a model trained on columns tweet and sentiment
    shutil.copytree(trained_run[0] / "model", bundle)
    meta = json.loads((bundle / "config.json").read_text())
    meta["lstmtext"]["data"].update(text_col="tweet", label_col="sentiment")
    (bundle / "config.json").write_text(json.dumps(meta))
    with_header, without = tmp_path / "h.csv", tmp_path / "n.csv"
    tiny_frame[["text", "label"]].rename(columns={"text": "tweet", "label": "sentiment"}).to_csv(with_header, index=False)
    tiny_frame[["text", "label"]].to_csv(without, index=False, header=False)
    named = evaluate_file(bundle, with_header)  # the model's own column names
    assert evaluate_file(bundle, without, header=False)["accuracy"] == named["accuracy"]


def test_an_onnx_predictor_pickles_and_rebuilds_its_session(trained_run):
    import pickle

    from lstmtext.inference.engines import load_predictor

    predictor = load_predictor(trained_run[0], "onnx")  # a graph built in memory: its bytes travel
    again = pickle.loads(pickle.dumps(predictor))
    assert again.engine == "onnx" and again.session is not predictor.session
    texts = ["lost my bag", "great crew thanks"]
    assert np.array_equal(again.predict_proba(texts), predictor.predict_proba(texts))


def test_predict_evaluate_and_suggest_read_the_graph_named_by_onnx(trained_run, tiny_path, tmp_path):
    bundle = trained_run[0] / "model"
    graph = tmp_path / "elsewhere.onnx"  # not in the bundle: found only through --onnx, as export says
    said = runner.invoke(app, ["export", str(bundle), "--out", str(graph)])
    assert said.exit_code == 0 and f"the engines read it when named: lstmtext serve {bundle} --onnx {graph}" in said.output
    texts = tmp_path / "texts.txt"
    texts.write_text("great crew\nlost my bag again\n")
    said = runner.invoke(app, ["predict", str(bundle), "--file", str(texts), "--engine", "onnx", "--onnx", str(graph)])
    torch_said = runner.invoke(app, ["predict", str(bundle), "--file", str(texts), "--engine", "torch"])
    assert said.exit_code == 0 == torch_said.exit_code, said.output
    assert [json.loads(r)["label"] for r in said.output.splitlines()] == [
        json.loads(r)["label"] for r in torch_said.output.splitlines()]
    missing = tmp_path / "none.onnx"
    for argv in (["predict", str(bundle), "hi"], ["evaluate", str(bundle), str(tiny_path)],
                 ["suggest", str(bundle), str(texts), "--out", str(tmp_path / "s")]):
        result = runner.invoke(app, [*argv, "--engine", "onnx", "--onnx", str(missing)])
        assert result.exit_code == 1 and str(result.exception).startswith(f"{missing}: no such ONNX file."), argv
