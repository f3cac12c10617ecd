"""The NumPy reference LSTM / RNN: the source material's worked examples, finite differences, tables, JSON."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pytest
from rich.console import Console

from lstmtext.errors import ConfigError
from lstmtext.explain.reference import examples, lstm, rnn, tables, weights_io

TOL = 5e-5  # the slides round intermediate values to 5 decimals

# The slides' printed numbers (issue 7), gates in the order a, i, f, o.
FORWARD = {
    0: {"a": 0.81775, "i": 0.96083, "f": 0.85195, "o": 0.81757, "c": 0.78572, "h": 0.53631},
    1: {"a": 0.84980, "i": 0.98118, "f": 0.87030, "o": 0.84993, "c": 1.5176, "h": 0.77197},
}
BACKWARD = {
    1: {"delta": -0.47803, "d_out": -0.47803, "d_state": -0.07111, "d_a": -0.01938, "d_i": -0.00112,
        "d_f": -0.00631, "d_o": -0.05538, "d_x": [-0.04743, -0.03073], "d_h_prev": -0.01828},
    0: {"delta": 0.03631, "d_h_next": -0.01828, "d_out": 0.01803, "d_state": -0.05349, "d_a": -0.01703,
        "d_i": -0.00165, "d_f": 0.0, "d_o": 0.00176, "d_x": [-0.00817, -0.00487], "d_h_prev": -0.00343},
}  # fmt: skip
D_W = [[-0.02672, -0.0922], [-0.00221, -0.00666], [-0.00316, -0.01893], [-0.02593, -0.16262]]
D_U = [-0.01039, -0.00060, -0.00338, -0.02970]
D_B = [-0.03641, -0.00277, -0.00631, -0.05362]
UPDATED = {
    "a": ([0.45267, 0.25922], 0.15104, 0.20364),
    "i": ([0.95022, 0.80067], 0.80006, 0.65028),
    "f": ([0.70031, 0.45189], 0.10034, 0.15063),
    "o": ([0.60259, 0.41626], 0.25297, 0.10536),
}


@pytest.fixture(scope="module")
def slides():
    return examples.run_slides_example()


def _render(*renderables) -> str:
    console = Console(width=240, record=True, file=io.StringIO())
    for r in renderables:
        console.print(r)
    return console.export_text()


def _numbers_in(text: str) -> np.ndarray:
    return np.array([float(m) for m in re.findall(r"-?\d+\.\d+", text)])


def test_slides_forward(slides):
    for t, expected in FORWARD.items():
        step = slides.steps[t]
        for name, value in expected.items():
            assert getattr(step, name).item() == pytest.approx(value, abs=TOL), (t, name)
    assert slides.steps[1].h_prev.item() == pytest.approx(0.53631, abs=TOL)  # out_0 feeds step 1


def test_slides_backward(slides):
    for t, expected in BACKWARD.items():
        rec = slides.grads.steps[t]
        for name, value in expected.items():
            np.testing.assert_allclose(getattr(rec, name), np.atleast_1d(value), atol=TOL, err_msg=f"t={t} {name}")
    assert slides.grads.steps[1].d_h_next.item() == 0.0  # no future step


def test_slides_gradients_and_update(slides):
    grads = slides.grads.params
    for k, g in enumerate(lstm.GATES):
        np.testing.assert_allclose(grads[f"W_{g}"], [D_W[k]], atol=TOL, err_msg=f"dW_{g}")
        np.testing.assert_allclose(grads[f"U_{g}"], [[D_U[k]]], atol=TOL, err_msg=f"dU_{g}")
        np.testing.assert_allclose(grads[f"b_{g}"], [D_B[k]], atol=TOL, err_msg=f"db_{g}")
        w, u, b = UPDATED[g]
        np.testing.assert_allclose(slides.updated[f"W_{g}"], [w], atol=TOL, err_msg=f"W_{g}")
        np.testing.assert_allclose(slides.updated[f"U_{g}"], [[u]], atol=TOL, err_msg=f"U_{g}")
        np.testing.assert_allclose(slides.updated[f"b_{g}"], [b], atol=TOL, err_msg=f"b_{g}")
    assert slides.lr == 0.1
    assert slides.loss == pytest.approx(0.5 * (0.53631 - 0.5) ** 2 + 0.5 * (0.77197 - 1.25) ** 2, abs=TOL)


def test_slides_tables_print_every_number(slides):
    printed = _numbers_in(_render(*tables.case_tables(slides)))
    wanted = [v for step in FORWARD.values() for v in step.values()]
    for step in BACKWARD.values():
        for v in step.values():
            wanted += list(np.atleast_1d(v))
    wanted += list(np.ravel(D_W)) + D_U + D_B
    for w, u, b in UPDATED.values():
        wanted += [*w, u, b]
    missing = [v for v in wanted if not np.any(np.abs(printed - v) <= TOL)]
    assert not missing, f"not in the tables (to 5e-5): {missing}"


def test_gates_example_as_the_lecture_computes_it():
    run = examples.run_gates_example()
    hand = run.hand  # every intermediate rounded to 3 decimals, as the lecture does
    assert hand.z["f"].item() == pytest.approx(1.63 * 1 + 0 + 2.7 * 1 + 1.62) == pytest.approx(5.95)
    assert hand.z["o"].item() == pytest.approx(-0.19 * 1 + 0 + 4.38 * 1 + 0.59) == pytest.approx(4.78)
    expected = {"f": 0.997, "o": 0.992, "i": 0.986, "a": 0.966, "c": 2.946, "h": 0.986}
    for name, value in expected.items():
        assert getattr(hand, name).item() == pytest.approx(value, abs=1e-9), name
    assert round(0.997 * 2 + 0.986 * 0.966, 3) == pytest.approx(2.946)
    # At full precision everything but the cell state agrees to 3 decimals; c_t is 2.94757, not 2.946,
    # because the lecture multiplies the rounded 0.997 and 0.986 * 0.966.
    exact = run.exact
    for name in ("f", "o", "i", "a", "h"):
        assert getattr(exact, name).item() == pytest.approx(expected[name], abs=5e-4), name
    assert exact.c.item() == pytest.approx(2.94757, abs=1e-5)
    assert exact.h.item() == pytest.approx(exact.o.item() * np.tanh(exact.c.item()))


def test_gates_table_prints_every_number():
    text = _render(tables.gates_example_table(examples.run_gates_example()))
    for s in ("5.95", "4.78", "0.997", "0.992", "0.986", "0.966", "2.946", "1.63*1 + 0 + 2.70*1 + 1.62"):
        assert s in text, s
    assert "-0.19*1 + 0 + 4.38*1 + 0.59" in text


def _fd_check(loss_of, params, grads, eps=1e-6, rtol=1e-6, atol=1e-8):
    for key, value in params.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[key][idx] += eps
            minus[key][idx] -= eps
            numeric[idx] = (loss_of(plus) - loss_of(minus)) / (2 * eps)
        np.testing.assert_allclose(grads[key], numeric, rtol=rtol, atol=atol, err_msg=key)


def test_lstm_gradients_match_finite_differences():
    rng = np.random.default_rng(0)
    params = lstm.init_params(3, 2, rng)
    xs, targets = rng.normal(size=(4, 2)), rng.normal(size=(4, 3))
    h0, c0, w_c = rng.normal(size=3), rng.normal(size=3), rng.normal(size=3)

    def loss_of(p, xs=xs, h0=h0, c0=c0):
        steps = lstm.lstm_forward(p, xs, h0, c0)
        return lstm.squared_error(lstm.hidden_states(steps), targets)[0] + w_c @ steps[-1].c

    steps = lstm.lstm_forward(params, xs, h0, c0)
    _, d_h = lstm.squared_error(lstm.hidden_states(steps), targets)
    grads = lstm.lstm_backward(params, steps, d_h, d_c_last=w_c)
    _fd_check(loss_of, params, grads.params)
    inputs = {"xs": xs, "h0": h0, "c0": c0}
    analytic = {"xs": np.stack([s.d_x for s in grads.steps]), "h0": grads.d_h0, "c0": grads.d_c0}
    _fd_check(lambda v: loss_of(params, **v), inputs, analytic)


@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_gradients_match_finite_differences(nonlinearity):
    rng = np.random.default_rng(1)
    params = rnn.init_params(3, 2, rng)
    xs, targets, h0 = rng.normal(size=(5, 2)), rng.normal(size=(5, 3)), rng.normal(size=3)

    def loss_of(p, xs=xs, h0=h0):
        return rnn.squared_error(rnn.hidden_states(rnn.rnn_forward(p, xs, h0, nonlinearity)), targets)[0]

    steps = rnn.rnn_forward(params, xs, h0, nonlinearity)
    _, d_h = rnn.squared_error(rnn.hidden_states(steps), targets)
    grads = rnn.rnn_backward(params, steps, d_h, nonlinearity)
    _fd_check(loss_of, params, grads.params)
    analytic = {"xs": np.stack([s.d_x for s in grads.steps]), "h0": grads.d_h0}
    _fd_check(lambda v: loss_of(params, **v), {"xs": xs, "h0": h0}, analytic)


def test_bidirectional_lstm_gradients_match_finite_differences():
    rng = np.random.default_rng(2)
    fw, bw = lstm.init_params(2, 3, rng), lstm.init_params(2, 3, rng)
    xs, weights = rng.normal(size=(4, 3)), rng.normal(size=(4, 4))
    out, steps_fw, steps_bw = lstm.bidirectional_forward(fw, bw, xs)
    assert out.shape == (4, 4)
    np.testing.assert_allclose(out[0, 2:], steps_bw[-1].h)  # the backward cell ends at position 0
    g_fw, g_bw, d_x = lstm.bidirectional_backward(fw, bw, steps_fw, steps_bw, weights)
    _fd_check(lambda p: np.sum(lstm.bidirectional_forward(p, bw, xs)[0] * weights), fw, g_fw.params)
    _fd_check(lambda p: np.sum(lstm.bidirectional_forward(fw, p, xs)[0] * weights), bw, g_bw.params)
    _fd_check(lambda v: np.sum(lstm.bidirectional_forward(fw, bw, v["xs"])[0] * weights), {"xs": xs}, {"xs": d_x})


def test_sgd_update_and_as_params():
    p = examples.slides_params()
    assert p["W_a"].shape == (1, 2) and p["U_a"].shape == (1, 1) and p["b_a"].shape == (1,)
    new = lstm.sgd_update(p, {k: np.ones_like(v) for k, v in p.items()}, 0.5)
    np.testing.assert_allclose(new["b_o"], [0.1 - 0.5])
    assert p["b_o"].item() == 0.1  # not modified in place
    with pytest.raises(ConfigError, match="'U_f' is missing"):
        lstm.as_params({k: v for k, v in examples.SLIDES_WEIGHTS.items() if k != "U_f"})
    with pytest.raises(ConfigError, match=r"gate 'i': W \(1, 2\), U \(1, 2\)"):
        lstm.as_params({**examples.SLIDES_WEIGHTS, "U_i": [[1.0, 2.0]]})
    with pytest.raises(ConfigError, match="nonlinearity"):
        rnn.rnn_forward(rnn.as_params({"W": [1.0], "U": 0.5, "b": 0.0}), [[1.0]], nonlinearity="sigmoid")


def test_run_case_forward_only_and_rnn_tables():
    run = examples.run_case({"W": [[0.5, -0.2]], "U": 0.3, "b": 0.1}, [[1, 2], [0.5, 3]], cell="rnn")
    assert run.grads is None and len(tables.case_tables(run)) == 1
    assert run.steps[0].h.item() == pytest.approx(np.tanh(0.5 - 0.4 + 0.1))
    with pytest.raises(ValueError, match="no targets"):
        tables.backward_table(run)
    run = examples.run_case({"W": [[0.5, -0.2]], "U": 0.3, "b": 0.1}, [[1, 2]], [0.3], cell="rnn", nonlinearity="relu")
    assert "Elman" in _render(*tables.case_tables(run))
    with pytest.raises(ConfigError, match=r"expected \(T, 2\)"):
        examples.run_case(examples.SLIDES_WEIGHTS, [[1, 2, 3]])
    with pytest.raises(ConfigError, match="one target per step"):
        examples.run_case(examples.SLIDES_WEIGHTS, [[1, 2]], [1.0, 2.0])


def test_format_value():
    assert tables.format_value(np.array([-0.0])) == "0.00000"
    assert tables.format_value(np.array([[0.45, 0.25]]), 2) == "[0.45, 0.25]"
    assert tables.format_value(np.eye(2), 1) == "[[1.0, 0.0], [0.0, 1.0]]"


def test_weights_file_round_trip(tmp_path):
    doc = weights_io.weights_to_json(
        examples.slides_params(), "lstm", inputs=examples.SLIDES_INPUTS, targets=examples.SLIDES_TARGETS, lr=0.1
    )
    path = tmp_path / "slides.json"
    path.write_text(json.dumps(doc))
    wf = weights_io.load_weights(path)
    run = examples.run_case(wf.params, wf.inputs, wf.targets, wf.lr, wf.cell)
    np.testing.assert_allclose(run.updated["W_o"], [[0.60259, 0.41626]], atol=TOL)
    # The slides' own scalar spelling is accepted too.
    wf = weights_io.parse_weights({"cell": "lstm", "weights": examples.SLIDES_WEIGHTS, "targets": [0.5, 1.25]})
    assert wf.params["U_a"].shape == (1, 1) and wf.targets.shape == (2, 1)
    np.testing.assert_allclose(weights_io.parse_inputs("1,2; 0.5,3", 2), [[1, 2], [0.5, 3]])
    np.testing.assert_allclose(weights_io.parse_inputs("[[1, 2]]", 2), [[1, 2]])


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([1, 2], "expected a JSON object"),
        ({"weights": {}}, "weights key 'W_a' is missing"),
        ({"cell": "gru", "weights": {}}, "'cell' must be"),
        ({"weights": examples.SLIDES_WEIGHTS, "bias": 1}, "unknown key 'bias'"),
        ({"weights": {**examples.SLIDES_WEIGHTS, "W_i": [1, 2, 3]}}, r"W_i has shape \(1, 3\), expected \(1, 2\)"),
        ({"weights": {**examples.SLIDES_WEIGHTS, "b_f": "x"}}, "weights.b_f: expected a number"),
        ({"weights": examples.SLIDES_WEIGHTS, "inputs": [[1, 2, 3]]}, r"inputs: shape \(1, 3\), expected \(T, 2\)"),
        ({"weights": examples.SLIDES_WEIGHTS, "inputs": [[1, 2]], "targets": [1, 2]}, "2 targets for 1 input steps"),
        ({"weights": examples.SLIDES_WEIGHTS, "lr": -1}, "'lr' must be a positive number"),
        ({"cell": "rnn", "weights": {"W": [1], "U": 1, "b": 0}, "nonlinearity": "gelu"}, "'nonlinearity' must be"),
        ({"cell": "rnn", "weights": {"W": [1], "U": 1, "b": 0}, "c0": [0]}, "'c0' is only for an LSTM"),
    ],
)
def test_weights_file_errors(doc, message):
    with pytest.raises(ConfigError, match=message) as info:
        weights_io.parse_weights(doc, "w.json")
    assert "\n" not in str(info.value)


def test_weights_file_unreadable(tmp_path):
    with pytest.raises(ConfigError, match="cannot read the file"):
        weights_io.load_weights(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{'cell': 1}")
    with pytest.raises(ConfigError, match="not valid JSON at line 1"):
        weights_io.load_weights(bad)
    with pytest.raises(ConfigError, match="expected numbers like"):
        weights_io.parse_inputs("1,a", 2)


def test_weights_file_scalar_rnn():
    wf = weights_io.parse_weights({"cell": "rnn", "weights": {"W": 0.5, "U": 1, "b": 0}, "inputs": [1, 2, 3]})
    assert wf.params["W"].shape == (1, 1) and wf.inputs.shape == (3, 1)
    run = examples.run_case(wf.params, wf.inputs, [0.1, 0.2, 0.3], cell="rnn")
    assert run.steps[0].h.item() == pytest.approx(np.tanh(0.5))
