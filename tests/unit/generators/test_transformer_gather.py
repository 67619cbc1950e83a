"""Per-column weights gathered in a visiting order, and the fine heads a number at a time."""

from __future__ import annotations

import torch

from synthgen.generators.transformer import likelihood
from synthgen.generators.transformer.gather import fork, lookup, take
from synthgen.generators.transformer.likelihood import fine_by_column, grouped_nll, one_width
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


def test_a_lookup_backpropagates_exactly_as_an_embedding() -> None:
    gen = torch.Generator().manual_seed(0)
    weight = torch.randn(7, 3, generator=gen)
    index = torch.randint(0, 7, (5, 4), generator=gen)  # repeats and unused rows
    upstream = torch.randn(5, 4, 3, generator=gen)
    got = []
    for gather in (lookup, lambda w, i: torch.nn.functional.embedding(i, w)):
        w = weight.clone().requires_grad_()
        out = gather(w, index)
        (out * upstream).sum().backward()
        got.append((out.detach(), w.grad))
    assert torch.equal(got[0][0], got[1][0]) and torch.equal(got[0][1], got[1][1])
    assert torch.count_nonzero(got[0][1][~torch.isin(torch.arange(7), index)]) == 0


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
            logits = fine_by_column(net, h.transpose(0, 1), cols, coarse).transpose(0, 1)
        else:
            logits = net.fine_logits(h, cols, coarse, normed=True)
        logits.square().sum().backward()
        params = (net.fine_w1, net.coarse_ctx.weight)
        grads.append((logits.detach(), [p.grad.clone() for p in params]))
    (a, ga), (b, gb) = grads
    assert torch.allclose(a, b, atol=1e-5)
    assert all(torch.allclose(x, y, atol=1e-5) for x, y in zip(ga, gb, strict=True))


def _loss_case() -> tuple:
    """A four-column network (two numbers, 4 fine bins each), its training task and a
    batch: ``net, task, main, fine, order``."""

    class Model:
        n_sub_bins, token_dropout, random_order = 4, 0.0, 0.0
        learning_rate, weight_decay = 1e-3, 0.0

    net = TokenTransformer([3, 5, 2, 6], [0, 4, 0, 4], d_model=8, n_layers=1, n_heads=2)
    net.initialize(torch.Generator().manual_seed(0))
    task = TransformerTask(Model(), net, 4)
    main = torch.tensor([[0, 1, 1, 5], [2, 4, 0, 0], [1, 0, 1, 3]])
    fine = torch.tensor([[0, 3, 0, 1], [0, 0, 0, 4], [0, 2, 0, 0]])  # 4: a missing number
    return net, task, main, fine, torch.tensor([3, 0, 1, 2])


def test_the_training_loss_counts_each_number_against_its_own_fine_bin() -> None:
    net, task, main, fine, order = _loss_case()
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


def test_a_fork_backpropagates_both_readers_exactly_as_plain_indexing() -> None:
    gen = torch.Generator().manual_seed(0)
    x0 = torch.randn(3, 6, 4, generator=gen)
    up_whole, up_part = torch.randn(3, 6, 4, generator=gen), torch.randn(3, 2, 4, generator=gen)
    index = torch.tensor([4, 1])
    # both readers, the part only, the whole only
    for uses in ((True, True), (False, True), (True, False)):
        grads = []
        for split in (lambda x: fork(x, index, dim=1), lambda x: (x, x[:, index])):
            x = x0.clone().requires_grad_()
            whole, part = split(x)
            assert torch.equal(part, x0[:, index])
            loss = (whole * up_whole).sum() * uses[0] + (part * up_part).sum() * uses[1]
            loss.backward()
            grads.append(x.grad)
        assert torch.equal(grads[0], grads[1])
    assert fork(x0, index, dim=1)[0] is x0  # nothing to differentiate: no copy, no function


def test_an_owned_fork_adds_into_the_whole_gradient_and_a_shared_one_is_left_alone() -> None:
    """``owned``: the whole's reader (a product) backpropagates a tensor of its own, and the
    part's gradient is added into it; by default the whole's gradient may be shared (a sum
    hands the same tensor to both its inputs) and is not written to."""
    gen = torch.Generator().manual_seed(1)
    x0, w = torch.randn(5, 3, generator=gen), torch.randn(3, 4, generator=gen)
    up = torch.randn(2, 3, generator=gen)
    index = torch.tensor([3, 0])
    grads = []
    for split in (lambda x: fork(x, index, owned=True), lambda x: (x, x[index])):
        x = x0.clone().requires_grad_()
        whole, part = split(x)
        ((whole @ w).square().sum() + (part * up).sum()).backward()
        grads.append(x.grad)
    assert torch.equal(grads[0], grads[1])
    x, other = x0.clone().requires_grad_(), torch.zeros(5, 3, requires_grad=True)
    whole, part = fork(x, index)
    ((whole + other).sum() + (part * up).sum()).backward()
    assert torch.equal(other.grad, torch.ones(5, 3))  # the sum's gradient, untouched
    assert torch.equal(x.grad[index], 1 + up)


def test_states_past_the_columns_score_nothing_and_get_no_gradient() -> None:
    """A wide network's short last group: the states after the visited columns are scored
    by heads of zeros against no target, so the likelihood is the columns' alone and the
    padding's gradient is zero."""
    from synthgen.generators.transformer.likelihood import grouped_nll

    net = _net([3, 5, 4])
    gen = torch.Generator().manual_seed(2)
    order, target = torch.tensor([2, 0, 1]), torch.tensor([[1, 0], [2, 1], [4, 3]])
    h0 = torch.randn(5, 2, 8, generator=gen)  # three columns, two slots of padding
    h = h0.clone().requires_grad_()
    nll = grouped_nll(net, h, order, target)
    nll.sum().backward()
    cut = h0[:3].clone().requires_grad_()
    want = grouped_nll(net, cut, order, target)
    want.sum().backward()
    torch.testing.assert_close(nll, want)
    torch.testing.assert_close(h.grad[:3], cut.grad)
    assert torch.equal(h.grad[3:], torch.zeros(2, 2, 8))


def _net(vocab: list[int]) -> TokenTransformer:
    net = TokenTransformer(vocab, [0] * len(vocab), d_model=8, n_layers=1, n_heads=2)
    net.initialize(torch.Generator().manual_seed(0))
    return net


def test_close_vocabulary_groups_are_scored_at_once_and_far_ones_apart(monkeypatch) -> None:
    moved, states = [], []

    def watched(x, index, dim=0):
        moved.append(x is states[-1])  # the states permuted by group
        return take(x, index, dim)

    monkeypatch.setattr(likelihood, "take", watched)
    gen = torch.Generator().manual_seed(1)
    for vocab, apart in (([7, 30, 5, 32, 6], False), ([7, 3000, 5], True)):
        net = _net(vocab)
        main = torch.stack([torch.randint(0, v, (4,), generator=gen) for v in vocab], 1)
        order = torch.tensor([2, 0, 1, *range(3, len(vocab))])
        raw = net.hidden(main, torch.zeros_like(main), order)
        h = net.final_norm(raw.transpose(0, 1))  # column-major
        moved.clear()
        states.append(h)
        nll = grouped_nll(net, h, order, main[:, order].T).T
        assert any(moved) is apart
        # each column's own cross-entropy, from logits padded to the widest vocabulary
        logits = net.main_logits(raw, order)
        want = torch.nn.functional.cross_entropy(
            logits.flatten(0, 1), main[:, order].flatten(), reduction="none"
        )
        assert torch.allclose(nll.flatten(), want, atol=1e-5)


def test_one_width_pads_while_it_costs_less_than_moving_the_states() -> None:
    assert one_width([1000, 0], [8, 32]) == 8  # one group: its width
    assert one_width([500, 500], [7, 32]) == 32
    assert one_width([10, 1], [8, 100_000]) is None  # one wide column: the rest stay narrow
    assert one_width([0, 0], [8, 32]) is None


def test_the_training_loss_and_its_gradient_match_plain_indexing_of_the_fine_states() -> None:
    net, task, main, fine, order = _loss_case()
    grads = []
    for forked in (True, False):
        net.zero_grad()
        if forked:
            loss = task.loss(main, fine, order)
        else:  # every head reading the states by plain indexing
            x = net.final_norm(net.hidden(main, fine, order, padded=True))
            loss = net.main_nll(x, order, main[:, order], normed=True).sum()
            logits = net.visited_fine_logits(x, order, main, normed=True)
            target = fine[:, order[torch.tensor([0, 2])]]
            loss = loss + torch.nn.functional.cross_entropy(
                logits.flatten(0, 1),
                torch.where(target >= 4, -100, target).flatten(),
                reduction="sum",
                ignore_index=-100,
            )
        loss.backward()
        grads.append((loss.detach(), [p.grad.clone() for p in net.parameters()]))
    (a, ga), (b, gb) = grads
    assert torch.allclose(a, b, atol=1e-5)
    assert all(torch.allclose(x, y, atol=1e-6) for x, y in zip(ga, gb, strict=True))
