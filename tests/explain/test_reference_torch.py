"""The NumPy reference agrees with PyTorch: nn.LSTM / nn.RNN outputs and autograd, and the package's models."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn.utils.rnn import pack_padded_sequence  # noqa: E402

from lstmtext.explain.reference import lstm, rnn  # noqa: E402

TOL = 1e-5


def _reference(module, xs: np.ndarray, cell: str):
    """Run every layer and direction of ``module`` with the reference on one sequence ``xs`` (T, D).

    Returns the last layer's outputs (T, dirs * H) and the final states h_n (and c_n) (layers * dirs, H),
    in PyTorch's layout.
    """
    mod = lstm if cell == "lstm" else rnn
    kw = {} if cell == "lstm" else {"nonlinearity": module.nonlinearity}
    run = lstm.lstm_forward if cell == "lstm" else rnn.rnn_forward
    inp, h_n, c_n = xs, [], []
    for layer in range(getattr(module, "num_layers", 1)):
        fw = mod.params_from_torch(module, layer)
        if getattr(module, "bidirectional", False):
            bw = mod.params_from_torch(module, layer, reverse=True)
            out, steps_fw, steps_bw = mod.bidirectional_forward(fw, bw, inp, **kw)
            finals = [steps_fw[-1], steps_bw[-1]]
        else:
            steps = run(fw, inp, **kw)
            out, finals = mod.hidden_states(steps), [steps[-1]]
        h_n += [s.h for s in finals]
        c_n += [s.c for s in finals] if cell == "lstm" else []
        inp = out
    return out, np.stack(h_n), (np.stack(c_n) if c_n else None)


def _module(cell: str, bidirectional: bool, num_layers: int = 1, nonlinearity: str = "tanh", seed: int = 0):
    torch.manual_seed(seed)
    if cell == "lstm":
        module = nn.LSTM(3, 4, num_layers=num_layers, batch_first=True, bidirectional=bidirectional)
    else:
        module = nn.RNN(3, 4, num_layers, nonlinearity=nonlinearity, batch_first=True, bidirectional=bidirectional)
    return module.double()


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_lstm_matches_torch(bidirectional, num_layers):
    module = _module("lstm", bidirectional, num_layers)
    x = torch.randn(3, 5, 3, dtype=torch.float64)
    with torch.no_grad():
        out, (h_n, c_n) = module(x)
    for b in range(3):
        ref_out, ref_h, ref_c = _reference(module, x[b].numpy(), "lstm")
        np.testing.assert_allclose(ref_out, out[b].numpy(), atol=TOL)
        np.testing.assert_allclose(ref_h, h_n[:, b].numpy(), atol=TOL)
        np.testing.assert_allclose(ref_c, c_n[:, b].numpy(), atol=TOL)


@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("nonlinearity", ["tanh", "relu"])
def test_rnn_matches_torch(nonlinearity, bidirectional, num_layers):
    module = _module("rnn", bidirectional, num_layers, nonlinearity)
    x = torch.randn(3, 5, 3, dtype=torch.float64)
    with torch.no_grad():
        out, h_n = module(x)
    for b in range(3):
        ref_out, ref_h, _ = _reference(module, x[b].numpy(), "rnn")
        np.testing.assert_allclose(ref_out, out[b].numpy(), atol=TOL)
        np.testing.assert_allclose(ref_h, h_n[:, b].numpy(), atol=TOL)


@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_packed_sequences_match_the_reference_on_the_real_tokens(cell):
    module = _module(cell, bidirectional=True)
    x, lengths = torch.randn(3, 6, 3, dtype=torch.float64), torch.tensor([6, 2, 4])
    with torch.no_grad():
        _, state = module(pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False))
    h_n = state[0] if cell == "lstm" else state
    for b, n in enumerate(lengths.tolist()):
        _, ref_h, _ = _reference(module, x[b, :n].numpy(), cell)
        np.testing.assert_allclose(ref_h, h_n[:, b].numpy(), atol=TOL)


def _torch_grads(module, cell: str, reverse: bool):
    """The autograd gradients of one direction of layer 0, in the reference's layout."""
    sfx = "_l0_reverse" if reverse else "_l0"
    grads = [getattr(module, f"{k}{sfx}").grad.numpy() for k in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")]
    np.testing.assert_allclose(grads[2], grads[3])  # b = b_ih + b_hh: both get the same gradient
    if cell == "lstm":
        return lstm.params_from_arrays(grads[0], grads[1], grads[2])
    return {"W": grads[0], "U": grads[1], "b": grads[2]}


@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("cell", ["lstm", "rnn"])
def test_gradients_match_autograd(cell, bidirectional):
    module = _module(cell, bidirectional, seed=3)
    x = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    weights = torch.randn(2, 5, 4 * (1 + bidirectional), dtype=torch.float64)
    out, _ = module(x)
    (out * weights).sum().backward()  # dE/dh_t = weights[:, t]
    mod = lstm if cell == "lstm" else rnn
    fw = mod.params_from_torch(module)
    bw = mod.params_from_torch(module, reverse=True) if bidirectional else None
    total_fw = {k: np.zeros_like(v) for k, v in fw.items()}
    total_bw = {k: np.zeros_like(v) for k, v in fw.items()}
    for b in range(2):
        xs, d_h = x[b].detach().numpy(), weights[b].numpy()
        if bidirectional:
            _, s_fw, s_bw = mod.bidirectional_forward(fw, bw, xs)
            g_fw, g_bw, d_x = mod.bidirectional_backward(fw, bw, s_fw, s_bw, d_h)
            total_bw = {k: total_bw[k] + g_bw.params[k] for k in total_bw}
        else:
            steps = lstm.lstm_forward(fw, xs) if cell == "lstm" else rnn.rnn_forward(fw, xs)
            g_fw = lstm.lstm_backward(fw, steps, d_h) if cell == "lstm" else rnn.rnn_backward(fw, steps, d_h)
            d_x = np.stack([s.d_x for s in g_fw.steps])
        total_fw = {k: total_fw[k] + g_fw.params[k] for k in total_fw}
        np.testing.assert_allclose(d_x, x.grad[b].numpy(), atol=TOL)
    expected = _torch_grads(module, cell, reverse=False)
    for key in total_fw:
        np.testing.assert_allclose(total_fw[key], expected[key], atol=TOL, err_msg=key)
    if bidirectional:
        expected = _torch_grads(module, cell, reverse=True)
        for key in total_bw:
            np.testing.assert_allclose(total_bw[key], expected[key], atol=TOL, err_msg=f"reverse {key}")


def test_gate_order_mapping_and_params_to_torch():
    """PyTorch's rows i, f, g, o land on the reference's i, f, a, o, and back."""
    rng = np.random.default_rng(0)
    params = lstm.init_params(2, 3, rng)
    module = nn.LSTM(3, 2, batch_first=True).double()
    lstm.params_to_torch(params, module)
    w_ih = module.weight_ih_l0.detach().numpy()
    np.testing.assert_array_equal(w_ih[0:2], params["W_i"])
    np.testing.assert_array_equal(w_ih[2:4], params["W_f"])
    np.testing.assert_array_equal(w_ih[4:6], params["W_a"])
    np.testing.assert_array_equal(w_ih[6:8], params["W_o"])
    back = lstm.params_from_torch(module)
    for key in params:
        np.testing.assert_array_equal(back[key], params[key])
    r_params = rnn.init_params(2, 3, rng)
    r_module = nn.RNN(3, 2, batch_first=True).double()
    rnn.params_to_torch(r_params, r_module)
    for key, value in rnn.params_from_torch(r_module).items():
        np.testing.assert_array_equal(value, r_params[key])


def _build_classifier(name: str, bidirectional: bool, num_layers: int, **options):
    from lstmtext import config, models

    assert name in models.available_models(), f"architecture {name!r} is gone; the reference checks need it"
    cfg = config.ModelConfig(
        name=name, embedding_dim=3, hidden_size=4, num_layers=num_layers, bidirectional=bidirectional,
        embed_dropout=0.0, pooling="last", options=options,
    )  # fmt: skip
    torch.manual_seed(7)
    return models.build_model(cfg, vocab_size=12, outputs=3).double().eval()


@pytest.mark.parametrize(
    ("name", "bidirectional", "num_layers", "options"),
    [
        ("lstm", False, 1, {}),
        ("lstm", True, 1, {}),
        ("lstm", True, 2, {}),
        ("rnn", False, 1, {"nonlinearity": "tanh"}),
        ("rnn", True, 1, {"nonlinearity": "relu"}),
    ],
)
def test_package_classifier_logits_match_the_reference(name, bidirectional, num_layers, options):
    """embedding lookup -> reference LSTM/RNN -> [forward h at the last real token, backward h at the first] -> fc."""
    model = _build_classifier(name, bidirectional, num_layers, **options)
    ids = torch.tensor([[3, 5, 7, 2, 9], [4, 1, 8, 0, 0], [11, 0, 0, 0, 0]])
    lengths = torch.tensor([5, 3, 1])
    with torch.no_grad():
        logits = model(ids, lengths).numpy()
    table = model.embedding.weight.detach().numpy()  # (V, E)
    fc_w, fc_b = model.fc.weight.detach().numpy(), model.fc.bias.detach().numpy()  # (C, dirs * H), (C,)
    cell = "lstm" if isinstance(model.rnn, nn.LSTM) or name == "lstm" else "rnn"
    for b, n in enumerate(lengths.tolist()):
        xs = table[ids[b, :n].numpy()]  # (n, E)
        _, h_n, _ = _reference(model.rnn, xs, cell)  # (layers * dirs, H)
        features = np.concatenate(list(h_n[-(1 + bidirectional) :]))  # (dirs * H,)
        np.testing.assert_allclose(fc_w @ features + fc_b, logits[b], atol=TOL)


@pytest.mark.parametrize(("bidirectional", "layers"), [(False, 2), (True, 2), (True, 1)])
def test_trace_tokens_matches_the_classifier_on_every_prefix(bidirectional, layers):
    """A one-layer BiLSTM's cuts run their backward passes in step (prefix_backward_outs), the others one by one."""
    from lstmtext.explain.reference import examples

    model = _build_classifier("lstm", bidirectional, layers)
    ids = torch.tensor([[3, 5, 7, 2]])
    xs = model.embedding.weight.detach().numpy()[ids[0].numpy()]  # (T, E)
    trace = examples.trace_tokens(model.rnn, xs, model.fc.weight.detach().numpy(), model.fc.bias.detach().numpy())
    assert trace.gates["f"].shape == (4, 4) and trace.cell_norm.shape == (4,)
    with torch.no_grad():
        for t in range(4):
            probs = torch.softmax(model(ids[:, : t + 1], torch.tensor([t + 1])), dim=1)[0].numpy()
            np.testing.assert_allclose(trace.probs[t], probs, atol=TOL)
    with torch.no_grad():
        out, _ = model.rnn(torch.from_numpy(xs)[None])  # (1, T, dirs * H), last layer
    h_fw = trace.gates["o"] * np.tanh(trace.cell)  # (T, H): the last layer's forward outputs
    np.testing.assert_allclose(h_fw, out[0, :, :4].numpy(), atol=TOL)
    np.testing.assert_allclose(trace.cell_norm, np.linalg.norm(trace.cell, axis=1))
