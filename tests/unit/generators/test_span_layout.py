"""SpanLayout: activations and cross-entropies on gathered column blocks, checked span by span."""

from __future__ import annotations

import pytest
import torch

from synthgen.generators.layout import SpanLayout, permute_columns
from synthgen.transforms.table import Span

pytestmark = pytest.mark.usefixtures("one_thread")


def _spans() -> list[Span]:
    # Interleaved like an encoder's output: a tanh value and its modes per number, categories
    # of repeated and distinct widths, an identity column, and one column no span covers.
    return [
        Span("x", "value", 0, 1, "tanh"),
        Span("x", "mode", 1, 3, "softmax"),
        Span("c", "category", 4, 5, "softmax"),
        Span("i", "value", 9, 1, "identity"),
        Span("y", "value", 11, 1, "tanh"),
        Span("y", "mode", 12, 3, "softmax"),
        Span("d", "category", 15, 2, "softmax"),
    ]


def _reference_activate(raw: torch.Tensor, spans: list[Span]) -> torch.Tensor:
    parts = list(raw.unbind(1))
    for s in spans:
        block = raw[:, s.start : s.end]
        if s.activation == "tanh":
            block = torch.tanh(block)
        elif s.activation == "softmax":
            block = torch.softmax(block, dim=-1)
        parts[s.start : s.end] = block.unbind(1)
    return torch.stack(parts, dim=1)


def test_activate_and_its_gradient_match_a_span_by_span_reference():
    spans = _spans()
    layout = SpanLayout(spans)
    raw = torch.randn(7, layout.dim, generator=torch.Generator().manual_seed(0))
    weight = torch.randn(layout.dim, generator=torch.Generator().manual_seed(1))
    got_in, ref_in = raw.clone().requires_grad_(), raw.clone().requires_grad_()
    got = layout.activate(got_in)
    ref = _reference_activate(ref_in, spans)
    torch.testing.assert_close(got, ref)
    (got * weight).sum().backward()
    (ref * weight).sum().backward()
    torch.testing.assert_close(got_in.grad, ref_in.grad)


def test_hard_draws_are_one_hot_inside_each_span_and_keep_the_other_columns():
    spans = _spans()
    layout = SpanLayout(spans)
    raw = torch.randn(50, layout.dim, generator=torch.Generator().manual_seed(0))
    out = layout.activate(raw, generator=torch.Generator().manual_seed(2), hard=True, tau=1.0)
    for s in spans:
        block = out[:, s.start : s.end]
        if s.activation == "softmax":
            assert torch.equal(block.sum(1), torch.ones(50))
            assert set(block.unique().tolist()) <= {0.0, 1.0}
        elif s.activation == "tanh":
            torch.testing.assert_close(block, torch.tanh(raw[:, s.start : s.end]))
    torch.testing.assert_close(out[:, [9, 10]], raw[:, [9, 10]])  # identity and uncovered


def test_gumbel_draws_are_seeded_and_sum_to_one_per_span():
    layout = SpanLayout(_spans())
    raw = torch.randn(30, layout.dim, generator=torch.Generator().manual_seed(0))
    a = layout.activate(raw, generator=torch.Generator().manual_seed(3), tau=0.2)
    b = layout.activate(raw, generator=torch.Generator().manual_seed(3), tau=0.2)
    assert torch.equal(a, b)
    assert not torch.equal(a, layout.activate(raw))  # the noise moved the soft draws
    for s in layout.disc_spans:
        torch.testing.assert_close(a[:, s.start : s.end].sum(1), torch.ones(30))


def test_cross_entropy_and_its_gradient_match_a_span_by_span_reference():
    spans = _spans()
    layout = SpanLayout(spans)
    raw = torch.randn(9, layout.dim, generator=torch.Generator().manual_seed(0))
    target = layout.activate(raw.flip(0), hard=True)
    got_in, ref_in = raw.clone().requires_grad_(), raw.clone().requires_grad_()
    got = layout.cross_entropy(got_in, target)
    ref = sum(
        -(torch.log_softmax(ref_in[:, s.start : s.end], -1) * target[:, s.start : s.end]).sum(1)
        for s in layout.disc_spans
    )
    torch.testing.assert_close(got, ref)
    got.sum().backward()
    ref.sum().backward()
    torch.testing.assert_close(got_in.grad, ref_in.grad)


def test_permute_columns_under_torch_func_gives_per_row_gradients():
    # DP-SGD takes per-row gradients through the layout with torch.func (vmap of grad).
    order = torch.tensor([2, 0, 1])
    weight = torch.tensor([1.0, 2.0, 3.0])
    rows = torch.randn(4, 3)

    def loss(row: torch.Tensor) -> torch.Tensor:
        return (permute_columns(row[None], order) * weight).sum()

    grads = torch.func.vmap(torch.func.grad(loss))(rows)
    assert torch.equal(grads, torch.tensor([2.0, 3.0, 1.0]).expand(4, 3))


@pytest.mark.parametrize("p", [0.5, 0.3])
def test_dropout_keeps_units_independently_at_one_minus_p_and_rescales(p):
    from synthgen.generators.nn import dropout

    x = torch.ones(400, 250)
    y = dropout(x, p, torch.Generator().manual_seed(0), training=True)
    kept = y > 0
    assert set(y.unique().tolist()) == {0.0, float(torch.tensor(1.0 / (1.0 - p)))}
    assert abs(float(kept.float().mean()) - (1 - p)) < 0.01
    # neighbours (bits of one random integer at p = 0.5) are independent
    both = (kept[:, :-1] & kept[:, 1:]).float().mean()
    assert abs(float(both) - (1 - p) ** 2) < 0.01
    assert torch.equal(y, dropout(x, p, torch.Generator().manual_seed(0), training=True))
    assert dropout(x, p, torch.Generator(), training=False) is x
