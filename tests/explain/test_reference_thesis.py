"""The thesis's BiLSTM (2.16-2.46), CBOW (2.1-2.10) and one-hot table (figure 2.9) in the NumPy reference."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from rich.console import Console

from lstmtext.errors import ConfigError
from lstmtext.explain.reference import bilstm, cbow, lstm, onehot, thesis_examples, thesis_io, thesis_tables

EPS = 1e-5  # central differences: truncation ~ EPS^2, rounding ~ 1e-16 / EPS; both far below the tolerance
RTOL, ATOL = 1e-6, 1e-9


@pytest.fixture(scope="module")
def example():
    return thesis_examples.run_bilstm_example()


@pytest.fixture(scope="module")
def step():
    return thesis_examples.run_cbow_example()


def _numeric_grads(loss_of, params, eps=EPS):
    out = {}
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][idx] += eps
            minus[name][idx] -= eps
            numeric[idx] = (loss_of(plus) - loss_of(minus)) / (2 * eps)
        out[name] = numeric
    return out


def _assert_grads(analytic, numeric):
    assert analytic.keys() == numeric.keys()
    for name in analytic:
        np.testing.assert_allclose(analytic[name], numeric[name], rtol=RTOL, atol=ATOL, err_msg=name)


def _random_case(seed, hidden=2, inputs=3, classes=3, steps=4):
    rng = np.random.default_rng(seed)
    params = bilstm.init_params(hidden, inputs, classes, rng)
    return params, rng.normal(size=(steps, inputs)), rng.integers(0, classes, steps)


# --- BiLSTM ----------------------------------------------------------------------------------------------------


def test_bilstm_example_gradients_match_central_differences(example):
    """All 25 parameters (2.26, 2.43-2.45) against (E(theta + eps) - E(theta - eps)) / 2 eps, in float64."""
    assert len(example.grads) == 25 == len(bilstm.param_keys())
    numeric = _numeric_grads(lambda p: bilstm.loss_of(p, example.xs, example.labels), example.params)
    _assert_grads(example.grads, numeric)


@pytest.mark.parametrize("seed", [0, 1])
def test_bilstm_gradients_match_central_differences_for_larger_shapes(seed):
    params, xs, labels = _random_case(seed)
    run = bilstm.run_sequence(params, xs, labels, lr=0.1)
    _assert_grads(run.grads, _numeric_grads(lambda p: bilstm.loss_of(p, xs, labels), params))


def test_bilstm_forward_is_two_reference_lstms_concatenated(example):
    """(2.16-2.22) agree with lstm.bidirectional_forward, whose candidate is called a instead of c."""
    fw, bw = bilstm.to_lstm_params(example.params, "fw"), bilstm.to_lstm_params(example.params, "bw")
    out, steps_fw, steps_bw = lstm.bidirectional_forward(fw, bw, example.xs)
    np.testing.assert_allclose(np.stack([o.h for o in example.outputs]), out, rtol=0, atol=1e-15)
    for ours, theirs in zip(example.steps["bw"], steps_bw):
        np.testing.assert_allclose(ours.c_tilde, theirs.a, atol=1e-15)
        np.testing.assert_allclose(ours.c, theirs.c, atol=1e-15)
    assert [s.t for s in example.steps["bw"]] == [2, 1, 0]  # the backward layer reads the sentence from the end


def test_bilstm_output_layer_follows_the_thesis(example):
    w_y = example.params["W_y"]
    for o in example.outputs:
        np.testing.assert_allclose(o.s, w_y @ o.h)  # no b_y (section 2.8.2)
        np.testing.assert_allclose(o.y, np.exp(o.s) / np.exp(o.s).sum())  # (2.23)
        assert o.loss == pytest.approx(-np.log(o.y[example.labels[o.t]]))  # (2.24)
        np.testing.assert_allclose(o.dy, -(o.y_r - o.y))  # (2.25)
        np.testing.assert_allclose(o.delta_h, w_y.T @ o.dy)  # (2.27)
    np.testing.assert_allclose(example.grads["W_y"], sum(np.outer(o.dy, o.h) for o in example.outputs))  # (2.26)
    assert example.loss == pytest.approx(sum(o.loss for o in example.outputs))


def test_bilstm_bptt_records_follow_the_thesis(example):
    hidden = example.params["fw.b_f"].shape[0]
    for d, half in (("fw", slice(0, hidden)), ("bw", slice(hidden, None))):
        steps = {s.t: s for s in example.steps[d]}
        records = example.grads_steps[d]
        assert [g.t for g in records] == [s.t for s in example.steps[d]][::-1]  # BPTT visits in reverse reading order
        np.testing.assert_array_equal(records[0].delta_rec, 0.0)  # (2.27): the last step read gets W_y dy_t only
        for k, g in enumerate(records):
            s = steps[g.t]
            np.testing.assert_allclose(g.delta_out, example.outputs[g.t].delta_h[half])
            np.testing.assert_allclose(g.delta_h, g.delta_out + g.delta_rec)  # (2.42)
            if k:
                np.testing.assert_allclose(g.delta_rec, records[k - 1].delta_h_prev)  # (2.41) from the step after
                after, d_after = steps[records[k - 1].t], records[k - 1].dc
            else:
                after, d_after = None, 0.0
            f_next = 0.0 if after is None else after.f
            np.testing.assert_allclose(g.dc, (1 - s.tanh_c**2) * s.o * g.delta_h + f_next * d_after)  # (2.29)
            np.testing.assert_allclose(g.delta["f"], s.c_prev * g.dc * s.f * (1 - s.f))  # (2.37)
            np.testing.assert_allclose(g.delta["i"], s.c_tilde * g.dc * s.i * (1 - s.i))  # (2.38)
            np.testing.assert_allclose(g.delta["c"], s.i * g.dc * (1 - s.c_tilde**2))  # (2.39)
            np.testing.assert_allclose(g.delta["o"], s.tanh_c * g.delta_h * s.o * (1 - s.o))  # (2.40)


def test_bilstm_sgd_step_lowers_the_loss(example):
    for name in bilstm.param_keys():
        np.testing.assert_allclose(example.updated[name], example.params[name] - 0.1 * example.grads[name])  # (2.46)
    assert example.loss_after < example.loss
    assert example.loss_after == pytest.approx(bilstm.loss_of(example.updated, example.xs, example.labels))
    # The built-in case as printed by `lstmtext explain bilstm` and pasted into docs/explain.md.
    assert round(example.loss, 5) == 1.94860 and round(example.loss_after, 5) == 1.90725


def test_bilstm_minibatch_averages_the_sequences():
    """(2.46) on a mini-batch: the mean loss of sequences of different lengths, and its exact gradient."""
    params, xs, labels = _random_case(3, steps=4)
    batch = [(xs, labels), (xs[:2] * 0.5, labels[:2][::-1]), (xs[1:], labels[1:])]
    loss, grads = bilstm.minibatch_gradients(params, batch)
    numeric = _numeric_grads(lambda p: np.mean([bilstm.loss_of(p, x, y) for x, y in batch]), params)
    _assert_grads(grads, numeric)
    assert loss == pytest.approx(np.mean([bilstm.loss_of(params, x, y) for x, y in batch]))
    new = bilstm.minibatch_step(params, batch, 0.2)
    np.testing.assert_allclose(new["bw.U_c"], params["bw.U_c"] - 0.2 * grads["bw.U_c"])
    with pytest.raises(ConfigError, match="mini-batch is empty"):
        bilstm.minibatch_gradients(params, [])


def test_bilstm_rejects_bad_sequences(example):
    with pytest.raises(ConfigError, match=r"inputs have shape \(3, 3\), expected \(T, 2\)"):
        bilstm.run_sequence(example.params, np.ones((3, 3)), [0, 1, 0], 0.1)
    with pytest.raises(ConfigError, match=r"expected 3 class indices in 0..1"):
        bilstm.run_sequence(example.params, example.xs, [0, 2, 1], 0.1)
    with pytest.raises(ConfigError, match="key 'bw.W_o' is missing"):
        bilstm.as_params({k: v for k, v in example.params.items() if k != "bw.W_o"})
    with pytest.raises(ConfigError, match=r"W_y \(2, 3\); expected \(K, 2\)"):
        bilstm.as_params({**example.params, "W_y": np.ones((2, 3))})


# --- CBOW ------------------------------------------------------------------------------------------------------


def test_cbow_forward_follows_the_thesis(step):
    k, j = step.context, step.target
    assert step.vocabulary[k] == "barang" and step.vocabulary[j] == "sesuai"
    np.testing.assert_array_equal(step.h, step.W[k])  # (2.1): h = W^T x is the context word's row
    np.testing.assert_allclose(step.u, [step.W_prime[:, c] @ step.h for c in range(5)])  # (2.2)
    assert step.y.sum() == pytest.approx(1.0)
    assert step.loss == pytest.approx(-step.u[j] + np.log(np.exp(step.u).sum()))  # (2.4)
    assert step.loss == pytest.approx(-np.log(step.y[j]))
    np.testing.assert_allclose(step.e, step.y - np.eye(5)[j])  # (2.5)


def test_cbow_updates_follow_the_thesis(step):
    lr = step.lr
    np.testing.assert_allclose(step.dW_prime, np.outer(step.h, step.e))  # (2.6): e_j h_i
    np.testing.assert_allclose(step.W_prime_new, step.W_prime - lr * np.outer(step.h, step.e))  # (2.7)
    np.testing.assert_allclose(step.EH, sum(step.e[c] * step.W_prime[:, c] for c in range(5)))  # (2.8)
    assert np.count_nonzero(np.abs(step.dW).sum(axis=1)) == 1  # (2.9): only the context row
    np.testing.assert_allclose(step.W_new[step.context], step.W[step.context] - lr * step.EH)  # (2.10)
    others = [c for c in range(5) if c != step.context]
    np.testing.assert_array_equal(step.W_new[others], step.W[others])


def test_cbow_gradients_match_central_differences(step):
    params = {"W": step.W, "W_prime": step.W_prime}
    numeric = _numeric_grads(lambda p: cbow.loss(p["W"], p["W_prime"], step.context, step.target), params)
    _assert_grads({"W": step.dW, "W_prime": step.dW_prime}, numeric)


def test_cbow_step_moves_the_target_output_vector_towards_the_context(step):
    """Section 2.4.2: y_j < t_j only for the target, so (2.7) adds some h to v'_{w_O}, bringing it towards v_{w_I}."""
    moved = cbow.movement(step)
    h2 = float(step.h @ step.h)
    before, after = moved["dot"][step.target]
    assert (round(before, 5), round(after, 5)) == (-0.12, -0.09624)
    assert after - before == pytest.approx(step.lr * (1 - step.y[step.target]) * h2)  # = -eta e_j* |h|^2 > 0
    cos_before, cos_after = moved["cos"][step.target]
    assert (round(cos_before, 5), round(cos_after, 5)) == (-0.48626, -0.40756)
    assert cos_after > cos_before
    for c in range(5):  # and every other output vector moves away from h, by eta y_j |h|^2
        if c != step.target:
            assert moved["dot"][c, 1] - moved["dot"][c, 0] == pytest.approx(-step.lr * step.y[c] * h2)
            assert moved["cos"][c, 1] < moved["cos"][c, 0]
    y_before, y_after = moved["y_target"]
    assert (round(y_before, 5), round(y_after, 5)) == (0.18073, 0.18875)
    assert tuple(np.round(moved["loss"], 5)) == (1.71077, 1.66735)


def test_cbow_rejects_words_and_shapes_that_do_not_fit(step):
    with pytest.raises(ConfigError, match="target word 'murah' is not in the vocabulary"):
        cbow.cbow_step(step.vocabulary, step.W, step.W_prime, "barang", "murah", 0.1)
    with pytest.raises(ConfigError, match=r"W has 4 rows for a vocabulary of 5 words"):
        cbow.cbow_step(step.vocabulary, step.W[:4], step.W_prime[:, :4], "barang", "sesuai", 0.1)
    with pytest.raises(ConfigError, match=r"expected W \(V, N\) and W' \(N, V\)"):
        cbow.cbow_step(step.vocabulary, step.W, step.W_prime.T, "barang", "sesuai", 0.1)


# --- one-hot (figures 2.8 and 2.9) -----------------------------------------------------------------------------

THESIS_VOCABULARY = ["bukalapak", "bagus", "barang", "sesuai", "pengiriman", "cepat", "tingkatkan", "admin", "biar",
                     "semangat", "belanja", "hahaha"]


def test_onehot_of_the_thesis_sentence():
    encoded = onehot.encode(onehot.THESIS_SENTENCE)
    assert len(encoded.tokens) == 13 and encoded.tokens[11] == "bukalapak"
    assert encoded.vocabulary == THESIS_VOCABULARY  # first appearance, the repeated "bukalapak" once
    expected = np.zeros((13, 12))
    for pos, word_index in enumerate([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 0, 11]):
        expected[pos, word_index] = 1.0
    np.testing.assert_array_equal(encoded.rows, expected)
    # Figure 2.9's rows (vocabulary) against its columns (tokens): "bukalapak" has 1 under tokens 0 and 11, and
    # "hahaha" under token 12 (the extracted figure shows that 1 in the "belanja" row; we take it as a misprint).
    np.testing.assert_array_equal(encoded.rows[:, 0], [1] + [0] * 10 + [1, 0])
    np.testing.assert_array_equal(encoded.rows[:, 10], [0] * 10 + [1, 0, 0])
    np.testing.assert_array_equal(encoded.rows[:, 11], [0] * 12 + [1])


def test_onehot_of_the_section_example():
    """Section 2.4.1: "one-hot encoding pilihan yang bagus", V = 5, "one-hot" has index 0 and vector (1 0 0 0 0)."""
    encoded = onehot.encode("one-hot encoding pilihan yang bagus")
    assert encoded.index["one-hot"] == 0 and len(encoded.vocabulary) == 5
    np.testing.assert_array_equal(encoded.rows[0], [1, 0, 0, 0, 0])
    np.testing.assert_array_equal(encoded.rows, np.eye(5))


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_onehot_of_an_empty_sentence_is_a_one_line_error(text):
    with pytest.raises(ConfigError, match="has no tokens; expected a sentence of one or more words") as info:
        onehot.encode(text)
    assert "\n" not in str(info.value)


# --- tables ----------------------------------------------------------------------------------------------------


def _render(renderables) -> str:
    console = Console(width=240, record=True, file=io.StringIO())
    for r in renderables:
        console.print(r)
    return console.export_text()


def test_tables_print_every_intermediate_value(example, step):
    text = _render(thesis_tables.bilstm_tables(example))
    fmt = thesis_tables.format_value
    for name in bilstm.param_keys():
        for values in (example.grads, example.updated):
            assert fmt(values[name]) in text, name
    for d in bilstm.DIRECTIONS:
        for g in example.grads_steps[d]:
            for value in (g.delta_h, g.dc, g.delta["f"], g.delta["i"], g.delta["c"], g.delta["o"], g.delta_h_prev):
                assert fmt(value) in text
    for number in ("(2.16)", "(2.21)", "(2.22)", "(2.23)", "(2.25)", "(2.29)", "(2.37)", "(2.41)", "(2.43)", "(2.46)"):
        assert number in text, number
    text = _render(thesis_tables.cbow_tables(step))
    for value in (step.h, step.u[3], step.y[0], step.e[3], step.EH, step.W_new[2], step.W_prime_new[:, 3]):
        assert fmt(value) in text
    for number in ("(2.1)", "(2.2)", "(2.3)", "(2.4)", "(2.5)", "(2.6)", "(2.7)", "(2.8)", "(2.9)", "(2.10)"):
        assert number in text, number


# --- weights files ---------------------------------------------------------------------------------------------


def test_example_files_are_the_built_in_cases():
    from pathlib import Path

    root = Path(__file__).resolve().parents[2] / "src" / "lstmtext" / "resources" / "examples"
    assert json.loads((root / "bilstm_small.json").read_text()) == thesis_examples.bilstm_document()
    assert json.loads((root / "cbow_small.json").read_text()) == thesis_examples.cbow_document()
    case = thesis_io.load_bilstm(root / "bilstm_small.json")
    assert case.params["fw.W_c"].shape == (1, 2) and case.params["bw.U_o"].shape == (1, 1)
    assert case.labels.tolist() == [1, 1, 0] and case.lr == 0.1


def test_bilstm_file_round_trip(tmp_path):
    params, xs, labels = _random_case(4)
    path = tmp_path / "b.json"
    path.write_text(json.dumps(thesis_io.bilstm_to_json(params, xs, labels, 0.3)))
    run = thesis_examples.run_bilstm_example(path)
    assert run.lr == 0.3
    np.testing.assert_allclose(run.grads["bw.W_i"], bilstm.run_sequence(params, xs, labels, 0.3).grads["bw.W_i"])
    assert thesis_examples.run_bilstm_example(path, lr=0.5).lr == 0.5


def _bilstm_doc(**changes) -> dict:
    doc = json.loads(json.dumps(thesis_examples.bilstm_document()))
    for dotted, value in changes.items():
        *parents, last = dotted.split("__")
        target = doc
        for p in parents:
            target = target[p]
        if value is None:
            del target[last]
        else:
            target[last] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "expected a JSON object with keys model, forward"),
        (_bilstm_doc(forward__U_c=None), r"forward.U_c is missing; each direction needs W_g \(H, D\), U_g \(H, H\)"),
        (_bilstm_doc(W_y=None), "key 'W_y' is missing"),
        (_bilstm_doc(labels=None), "key 'labels' is missing"),
        (_bilstm_doc(backward__W_i=[1, 2, 3]), r"backward.W_i has shape \(1, 3\), expected \(1, 2\) = \(H, D\)"),
        (_bilstm_doc(forward__U_f=[[1, 2]]), r"forward.U_f has shape \(1, 2\), expected \(1, 1\) = \(H, H\)"),
        (_bilstm_doc(forward__b_o="x"), "forward.b_o: expected a number or a rectangular list of finite numbers"),
        (_bilstm_doc(backward__W_a=[1, 2]), "unknown key backward.W_a; expected W_f"),
        (_bilstm_doc(W_y=[[1, 2, 3], [4, 5, 6]]), r"W_y has shape \(2, 3\), expected \(K, 2\) = \(K, 2H\)"),
        (_bilstm_doc(W_y=[[1, "a"], [2, 3]]), "W_y: expected a number or a rectangular list"),
        (_bilstm_doc(inputs=[[1, 2, 3]]), r"inputs: shape \(1, 3\), expected \(T, 2\)"),
        (_bilstm_doc(labels=[1, 0]), r"labels \[1, 0\]; expected \(3,\): one class index in 0..1 per step"),
        (_bilstm_doc(labels=[1, 2, 0]), r"expected \(3,\): one class index in 0..1"),
        (_bilstm_doc(labels=[1.0, 1, 0]), r"expected \(3,\): one class index"),
        (_bilstm_doc(b_y=[0, 0]), "key 'b_y': the thesis's output layer has no bias"),
        (_bilstm_doc(cell="lstm"), "weights file of `lstmtext explain lstm|rnn`"),
        (_bilstm_doc(model="cbow"), "'model' is \"cbow\", but the command is `explain bilstm`"),
        (_bilstm_doc(lr=0), "'lr' must be a positive number"),
        (_bilstm_doc(extra=1), "unknown key 'extra'"),
    ],
)
def test_bilstm_file_errors_are_one_line(doc, message):
    with pytest.raises(ConfigError, match=message) as info:
        thesis_io.parse_bilstm(doc, "b.json")
    assert "\n" not in str(info.value) and str(info.value).startswith("b.json: ")


def _cbow_doc(**changes) -> dict:
    doc = thesis_examples.cbow_document()
    for name, value in changes.items():
        if value is None:
            del doc[name]
        else:
            doc[name] = value
    return doc


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        (_cbow_doc(W_prime=None), "key 'W_prime' is missing"),
        (_cbow_doc(W=[[0.1, 0.2, 0.3]] * 4), r"W has shape \(4, 3\), expected \(5, N\) = \(V, N\)"),
        (_cbow_doc(W_prime=[[0.1] * 5] * 2), r"W_prime has shape \(2, 5\), expected \(3, 5\) = \(N, V\)"),
        (_cbow_doc(W_prime=[[0.1] * 5, [0.2] * 5, [0.3] * 4 + [None]]), "W_prime: expected a number or"),
        (_cbow_doc(W=[[0.1, 0.2], [0.3]] * 3), "W: expected a number or a rectangular list"),
        (_cbow_doc(vocabulary=["a", "b", "a"]), "vocabulary has 'a' twice"),
        (_cbow_doc(vocabulary=[]), "'vocabulary' must be a list of V >= 1 words"),
        (_cbow_doc(context="murah"), "context \"murah\" is not in the vocabulary"),
        (_cbow_doc(model="bilstm"), "'model' is \"bilstm\", but the command is `explain cbow`"),
        (_cbow_doc(lr="fast"), "'lr' must be a positive number"),
    ],
)
def test_cbow_file_errors_are_one_line(doc, message):
    with pytest.raises(ConfigError, match=message) as info:
        thesis_io.parse_cbow(doc, "c.json")
    assert "\n" not in str(info.value)


def test_cbow_vocabulary_may_be_a_sentence():
    case = thesis_io.parse_cbow(_cbow_doc(vocabulary="bukalapak bagus barang sesuai bukalapak pengiriman"))
    assert case.vocabulary == thesis_examples.CBOW_VOCABULARY


def test_unreadable_files(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        thesis_io.load_cbow(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text('{"model": "bilstm",}')
    with pytest.raises(ConfigError, match="not valid JSON at line 1"):
        thesis_io.load_bilstm(bad)


def test_documents_are_fresh_copies():
    """Changing one document (as a caller building a bad file does) must not change the built-in case."""
    doc = thesis_examples.bilstm_document()
    doc["backward"]["U_i"] = [[1.0, 2.0]]
    thesis_examples.cbow_document()["W"][0][0] = 9.0
    assert thesis_examples.bilstm_document()["backward"]["U_i"] == 0.3
    assert thesis_examples.cbow_document()["W"][0][0] == 0.2
