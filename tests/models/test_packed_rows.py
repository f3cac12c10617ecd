"""Step products run on a few row counts (so oneDNN's built products are reused); the extra rows change nothing."""

import pytest
import torch

from lstmtext.models.packed import step_product, step_rows


def test_row_counts_round_up_to_few_shapes():
    assert [step_rows(n) for n in (1, 16, 17, 33, 100, 129, 300, 512, 513)] == [16, 16, 32, 48, 112, 160, 320, 512, 640]
    shapes = {step_rows(n) for n in range(1, 513)}
    assert len(shapes) == 16 and all(step_rows(n) >= n and step_rows(n) <= 1.25 * n + 16 for n in range(1, 4097))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("nd", [1, 2])
@pytest.mark.parametrize("n", [1, 17, 100, 300])
def test_a_padded_step_gives_each_rows_own_product(nd, n, dtype):
    gen = torch.Generator().manual_seed(n)
    x, w, b = torch.randn(nd, n, 24, generator=gen), torch.randn(nd, 40, 24, generator=gen), torch.randn(nd, 40, generator=gen)
    w_layout = w if nd == 1 else w.transpose(1, 2).contiguous()  # as step_weight lays it out
    got = step_product(x.to(dtype), w_layout.to(dtype), b, sigmoid=True).float()  # bf16: on step_rows(n) rows
    assert got.shape == (nd, n, 40)
    tol = 1e-5 if dtype == torch.float32 else 2e-2  # bfloat16 inputs, float32 accumulation
    torch.testing.assert_close(got, torch.sigmoid(x @ w.transpose(1, 2) + b.unsqueeze(1)), rtol=tol, atol=tol)
    # a row alone gives what it gives among the others (rows never mix)
    alone = step_product(x[:, -1:].to(dtype), w_layout.to(dtype), b, sigmoid=True).float()
    torch.testing.assert_close(alone, got[:, -1:], rtol=1e-6 if dtype == torch.float32 else 1e-2, atol=1e-6)
