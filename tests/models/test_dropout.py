import torch
from torch import nn

from lstmtext.models.dropout import Dropout, dropout


def test_dropout_zeroes_a_share_p_and_scales_the_rest():
    torch.manual_seed(0)
    w = torch.randn(400, 500)
    for p in (0.1, 0.5):
        out = dropout(w, p)
        kept = out != 0
        assert abs(1 - kept.float().mean().item() - p) < 0.01  # 200,000 entries: within 0.01 of p
        torch.testing.assert_close(out[kept], w[kept] / (1 - p))


def test_its_gradient_is_the_same_mask_and_scale():
    torch.manual_seed(1)
    x = torch.randn(30, 40, requires_grad=True)
    out = dropout(x, 0.3)
    out.backward(torch.ones_like(out))
    kept = out.detach() != 0
    assert torch.equal(x.grad != 0, kept)
    torch.testing.assert_close(x.grad[kept], torch.full((int(kept.sum()),), 1 / 0.7))


def test_the_module_is_nn_dropout_in_eval_and_draws_in_training():
    layer = Dropout(0.5)
    assert isinstance(layer, nn.Dropout) and repr(layer) == repr(nn.Dropout(0.5))
    x = torch.randn(8, 16)
    assert torch.equal(layer.eval()(x), x)
    torch.manual_seed(0)
    a = layer.train()(x)
    torch.manual_seed(0)
    b = layer(x)
    assert torch.equal(a, b) and not torch.equal(a, x)  # a fixed seed draws the same mask
    assert torch.equal(Dropout(0.0).train()(x), x)


def test_p_one_zeroes_everything():
    assert torch.equal(dropout(torch.ones(3, 4), 1.0), torch.zeros(3, 4))
