"""The narrow-axis softmax helpers agree with torch's, values and gradients."""

from __future__ import annotations

import pytest
import torch

from synthgen.generators.softmax import NARROW, log_softmax, softmax


@pytest.mark.parametrize("width", [1, 2, 9, NARROW - 1, NARROW, 70])
@pytest.mark.parametrize("fn, ref", [(softmax, torch.softmax), (log_softmax, torch.log_softmax)])
def test_matches_torch_in_value_and_gradient(width, fn, ref):
    g = torch.Generator().manual_seed(width)
    x = (torch.randn((50, 3, width), generator=g) * 20).requires_grad_()
    w = torch.randn((50, 3, width), generator=g)
    y = x.detach().clone().requires_grad_()
    (fn(x) * w).sum().backward()
    (ref(y, -1) * w).sum().backward()
    torch.testing.assert_close(fn(x), ref(y, -1), rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(x.grad, y.grad, rtol=1e-4, atol=1e-5)


def test_extreme_logits_stay_finite():
    x = torch.tensor([[1e4, -1e4, 0.0], [-1e30, -1e30, -1e30]])
    assert torch.isfinite(softmax(x)).all()
    torch.testing.assert_close(softmax(x).sum(-1), torch.ones(2))
    assert torch.isfinite(log_softmax(x)[0, [0, 2]]).all()


def test_empty_input():
    assert softmax(torch.zeros((0, 4))).shape == (0, 4)
    assert log_softmax(torch.zeros((0, 4))).shape == (0, 4)
