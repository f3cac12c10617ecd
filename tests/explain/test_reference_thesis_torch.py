"""The thesis's BiLSTM and CBOW in the NumPy reference agree with PyTorch autograd, in float64."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
from torch import nn  # noqa: E402
from torch.nn import functional as F  # noqa: E402

from lstmtext.explain.reference import bilstm, lstm, thesis_examples  # noqa: E402

RTOL, ATOL = 1e-6, 1e-10


def _torch_bilstm(params):
    """nn.LSTM(bidirectional=True) and a bias-free nn.Linear holding the reference's 25 parameters."""
    hidden, inputs = params["fw.W_f"].shape
    module = nn.LSTM(inputs, hidden, batch_first=True, bidirectional=True).double()
    for d, reverse in (("fw", False), ("bw", True)):
        lstm.params_to_torch(bilstm.to_lstm_params(params, d), module, reverse=reverse)
    head = nn.Linear(2 * hidden, params["W_y"].shape[0], bias=False).double()  # no b_y (section 2.8.2)
    with torch.no_grad():
        head.weight.copy_(torch.from_numpy(params["W_y"]))
    return module, head


def _torch_grads(module, head) -> dict[str, np.ndarray]:
    """The autograd gradients under the reference's keys (bias_ih's gradient is dE/db; bias_hh's is the same)."""
    out = {"W_y": head.weight.grad.numpy()}
    for d, suffix in (("fw", "_l0"), ("bw", "_l0_reverse")):
        arrays = [getattr(module, f"{k}{suffix}").grad.numpy() for k in ("weight_ih", "weight_hh", "bias_ih")]
        np.testing.assert_allclose(getattr(module, f"bias_hh{suffix}").grad.numpy(), arrays[2])
        ref = lstm.params_from_arrays(*arrays)  # gates a, i, f, o
        for g, theirs in bilstm.TO_LSTM.items():
            for k in ("W", "U", "b"):
                out[bilstm.key(d, f"{k}_{g}")] = ref[f"{k}_{theirs}"]
    return out


def _case(name):
    if name == "example":
        run = thesis_examples.run_bilstm_example()
        return run.params, run.xs, run.labels
    rng = np.random.default_rng(11)
    return bilstm.init_params(3, 4, 3, rng), rng.normal(size=(5, 4)), rng.integers(0, 3, 5)


@pytest.mark.parametrize("name", ["example", "random"])
def test_bilstm_matches_nn_lstm_and_autograd(name):
    params, xs, labels = _case(name)
    run = bilstm.run_sequence(params, xs, labels, lr=0.1)
    module, head = _torch_bilstm(params)
    out, _ = module(torch.from_numpy(xs)[None])  # (1, T, 2H) = [→h_t, ←h_t]  (2.22)
    logits = head(out[0])  # (T, K)
    loss = F.cross_entropy(logits, torch.from_numpy(np.asarray(labels)), reduction="sum")  # (2.24) summed over t
    loss.backward()
    np.testing.assert_allclose(np.stack([o.h for o in run.outputs]), out[0].detach().numpy(), rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(np.stack([o.y for o in run.outputs]), torch.softmax(logits, 1).detach().numpy(),
                               rtol=RTOL, atol=ATOL)
    assert run.loss == pytest.approx(loss.item(), rel=1e-12)
    grads = _torch_grads(module, head)
    assert grads.keys() == run.grads.keys() and len(grads) == 25
    for key in grads:
        np.testing.assert_allclose(run.grads[key], grads[key], rtol=RTOL, atol=ATOL, err_msg=key)
    # (2.46) is torch.optim.SGD's step on the same gradients.
    optimizer = torch.optim.SGD([*module.parameters(), *head.parameters()], lr=0.1)
    optimizer.step()  # bias_ih and bias_hh both step, so their sum, the reference's b, steps twice: compare W, U, W_y
    np.testing.assert_allclose(run.updated["W_y"], head.weight.detach().numpy(), rtol=RTOL, atol=ATOL)
    stepped = lstm.params_from_torch(module, reverse=True)
    np.testing.assert_allclose(run.updated["bw.W_c"], stepped["W_a"], rtol=RTOL, atol=ATOL)
    np.testing.assert_allclose(run.updated["bw.U_o"], stepped["U_o"], rtol=RTOL, atol=ATOL)


def test_bilstm_minibatch_matches_the_mean_loss_of_a_torch_batch():
    params, xs, labels = _case("random")
    rng = np.random.default_rng(5)
    xs2, labels2 = rng.normal(size=xs.shape), rng.integers(0, 3, len(labels))
    loss, grads = bilstm.minibatch_gradients(params, [(xs, labels), (xs2, labels2)])
    module, head = _torch_bilstm(params)
    out, _ = module(torch.from_numpy(np.stack([xs, xs2])))  # (2, T, 2H)
    logits = head(out)  # (2, T, K)
    target = torch.from_numpy(np.stack([labels, labels2]))
    batch_loss = F.cross_entropy(logits.reshape(-1, 3), target.reshape(-1), reduction="sum") / 2  # mean of the E's
    batch_loss.backward()
    assert loss == pytest.approx(batch_loss.item(), rel=1e-12)
    for key, value in _torch_grads(module, head).items():
        np.testing.assert_allclose(grads[key], value, rtol=RTOL, atol=ATOL, err_msg=key)


def test_cbow_updates_match_autograd():
    step = thesis_examples.run_cbow_example()
    W = torch.tensor(step.W, requires_grad=True)  # (V, N)
    W_prime = torch.tensor(step.W_prime, requires_grad=True)  # (N, V)
    x = torch.from_numpy(step.x)  # one-hot of the context word
    u = W_prime.T @ (W.T @ x)  # (2.1), (2.2)
    loss = F.cross_entropy(u[None], torch.tensor([step.target]))  # (2.4): -log y_j*
    loss.backward()
    assert step.loss == pytest.approx(loss.item(), rel=1e-12)
    np.testing.assert_allclose(step.dW_prime, W_prime.grad.numpy(), rtol=RTOL, atol=ATOL)  # (2.6)
    np.testing.assert_allclose(step.dW, W.grad.numpy(), rtol=RTOL, atol=ATOL)  # (2.9)
    optimizer = torch.optim.SGD([W, W_prime], lr=step.lr)
    optimizer.step()
    np.testing.assert_allclose(step.W_prime_new, W_prime.detach().numpy(), rtol=RTOL, atol=ATOL)  # (2.7)
    np.testing.assert_allclose(step.W_new, W.detach().numpy(), rtol=RTOL, atol=ATOL)  # (2.10)
