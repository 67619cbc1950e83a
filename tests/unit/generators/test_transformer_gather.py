"""Per-column weights gathered in a visiting order, and the fine heads a number at a time."""

from __future__ import annotations

import torch

from synthgen.generators.transformer.gather import take
from synthgen.generators.transformer.likelihood import fine_by_column
from synthgen.generators.transformer.model import TokenTransformer
from synthgen.generators.transformer.task import TransformerTask


def _grads(index: torch.Tensor, gather) -> tuple[torch.Tensor, torch.Tensor]:
    weight = torch.randn(5, 3, 4, generator=torch.Generator().manual_seed(0)).requires_grad_()
    upstream = torch.randn(len(index), 3, 4, generator=torch.Generator().manual_seed(1))
    out = gather(weight, index)
    (out * upstream).sum().backward()
    return out.detach(), weight.grad


def test_a_permutation_gathers_the_rows_and_their_gradient_exactly() -> None:
    index = torch.tensor([3, 0, 4, 1, 2])
    out, grad = _grads(index, take)
    want_out, want_grad = _grads(index, lambda w, i: w[i])
    assert torch.equal(out, want_out)
    assert torch.equal(grad, want_grad)


def test_the_schema_order_is_the_weight_itself_and_anything_else_plain_indexing() -> None:
    weight = torch.randn(4, 2, requires_grad=True)
    assert take(weight, torch.arange(4)) is weight
    # repeats as many as the rows (not a permutation), fewer, a subset
    for index in (torch.tensor([3, 0, 0, 1, 2]), torch.tensor([1, 1, 2]), torch.tensor([2, 0])):
        out, grad = _grads(index, take)
        want_out, want_grad = _grads(index, lambda w, i: w[i])
        assert torch.equal(out, want_out) and torch.equal(grad, want_grad)


def test_the_fine_heads_by_column_match_the_per_row_heads_and_their_gradients() -> None:
    net = TokenTransformer([3, 40, 2, 33], [0, 32, 0, 32], d_model=8, n_layers=1, n_heads=2)
    net.initialize(torch.Generator().manual_seed(0))
    gen = torch.Generator().manual_seed(1)
    h = torch.randn(6, 2, 8, generator=gen)
    cols = torch.tensor([3, 1])
    coarse = torch.stack([torch.randint(0, 33, (6,)), torch.randint(0, 40, (6,))], 1)
    grads = []
    for by_column in (True, False):
        net.zero_grad()
        if by_column:
            logits = fine_by_column(net, h, cols, coarse).transpose(0, 1)
        else:
            logits = net.fine_logits(h, cols, coarse, normed=True)
        logits.square().sum().backward()
        params = (net.fine_w1, net.coarse_ctx.weight)
        grads.append((logits.detach(), [p.grad.clone() for p in params]))
    (a, ga), (b, gb) = grads
    assert torch.allclose(a, b, atol=1e-5)
    assert all(torch.allclose(x, y, atol=1e-5) for x, y in zip(ga, gb, strict=True))


def test_the_training_loss_counts_each_number_against_its_own_fine_bin() -> None:
    class Model:
        n_sub_bins, token_dropout, random_order = 4, 0.0, 0.0
        learning_rate, weight_decay = 1e-3, 0.0

    net = TokenTransformer([3, 5, 2, 6], [0, 4, 0, 4], d_model=8, n_layers=1, n_heads=2)
    net.initialize(torch.Generator().manual_seed(0))
    task = TransformerTask(Model(), net, 4)
    main = torch.tensor([[0, 1, 1, 5], [2, 4, 0, 0], [1, 0, 1, 3]])
    fine = torch.tensor([[0, 3, 0, 1], [0, 0, 0, 4], [0, 2, 0, 0]])  # 4: a missing number
    order = torch.tensor([3, 0, 1, 2])
    with torch.no_grad():
        loss = task.loss(main, fine, order)
        x = net.final_norm(net.hidden(main, fine, order, padded=True))
        want = net.main_nll(x, order, main[:, order], normed=True).sum()
        per_row = torch.log_softmax(net.visited_fine_logits(x, order, main, normed=True), -1)
        for r in range(3):
            for k, c in enumerate((3, 1)):  # the numbers, as visited
                if fine[r, c] < 4:
                    want = want - per_row[r, k, fine[r, c]]
    assert torch.allclose(loss, want, atol=1e-5)
