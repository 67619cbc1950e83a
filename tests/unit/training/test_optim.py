"""Which Adam implementation a torch version gets."""

from __future__ import annotations

import pytest
import torch

from synthgen.training import optim


@pytest.fixture
def fresh_cache():
    optim.adam_options.cache_clear()
    yield
    optim.adam_options.cache_clear()


@pytest.mark.parametrize(
    "version, expected",
    [
        ("2.2.2", {"foreach": True}),
        ("2.3.1+cpu", {"foreach": True}),
        ("2.4.0", {"fused": True}),
        ("2.13.0+cpu", {"fused": True}),
        ("3.0.0", {"fused": True}),
    ],
)
def test_fused_from_torch_2_4(monkeypatch, fresh_cache, version, expected):
    monkeypatch.setattr(torch, "__version__", version)
    assert optim.adam_options() == expected


def test_options_build_a_working_optimiser(fresh_cache):
    p = torch.nn.Parameter(torch.ones(3))
    opt = torch.optim.Adam([p], lr=0.1, **optim.adam_options())
    p.grad = torch.ones(3)
    opt.step()
    assert (p < 1).all()
