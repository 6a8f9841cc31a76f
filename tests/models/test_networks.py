"""The batched per-subject MLP against the plain per-subject loop, forward and backward."""

import pytest
import torch

from neuromix.models import networks
from neuromix.models.networks import BatchedMLP, PerSubjectMLP, choose_path, plan_groups

RAT_SIZES = [920, 790, 1040, 490, 460]


def _pair(sizes, max_padding, grouped=True):
    gen = torch.Generator().manual_seed(0)
    batched = BatchedMLP(sizes, max_padding=max_padding, generator=gen)
    batched.grouped = grouped
    ref = PerSubjectMLP(sizes, generator=torch.Generator().manual_seed(0))
    return batched, ref


# both paths of BatchedMLP (grouped matmuls, member by member) against nn.Linear layers
@pytest.mark.parametrize("grouped", [True, False])
@pytest.mark.parametrize("max_padding", [0.0, 0.15, 10.0])
def test_batched_equals_per_subject_loop_forward_and_backward(max_padding, grouped):
    sizes = [[d // 10, d // 10, d // 10, 2, 4] for d in RAT_SIZES]
    batched, ref = _pair(sizes, max_padding, grouped)
    gen = torch.Generator().manual_seed(1)
    xs = [torch.randn(16, s[0], generator=gen) for s in sizes]
    out_b, out_r = batched(xs), ref(xs)
    for a, b in zip(out_b, out_r, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    targets = [torch.randn(16, 4, generator=gen) for _ in sizes]
    sum(((a - t) ** 2).sum() for a, t in zip(out_b, targets, strict=True)).backward()
    sum(((b - t) ** 2).sum() for b, t in zip(out_r, targets, strict=True)).backward()
    # gradients of every subject's true weights agree; padding gets exactly zero
    for group in batched.groups:
        for i, m in enumerate(group.members):
            linears = [mod for mod in ref.subjects[m] if isinstance(mod, torch.nn.Linear)]
            for layer, lin in enumerate(linears):
                fan_in, fan_out = group.sizes[i][layer], group.sizes[i][layer + 1]
                gw = group.weights[layer].grad[i]
                torch.testing.assert_close(
                    gw[:fan_in, :fan_out], lin.weight.grad.T, rtol=1e-4, atol=1e-5
                )
                assert torch.all(gw[fan_in:] == 0) and torch.all(gw[:, fan_out:] == 0)
                gb = group.biases[layer].grad[i, 0]
                torch.testing.assert_close(gb[:fan_out], lin.bias.grad, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("grouped", [True, False])
def test_padding_stays_zero_under_adam_and_matches_reference_after_steps(grouped):
    sizes = [[30, 30, 2], [24, 24, 2], [10, 10, 2]]
    batched, ref = _pair(sizes, 10.0, grouped)
    assert len(batched.groups) == 1
    opt_b = torch.optim.Adam(batched.parameters(), lr=1e-2)
    opt_r = torch.optim.Adam(ref.parameters(), lr=1e-2)
    gen = torch.Generator().manual_seed(2)
    for _ in range(5):
        xs = [torch.randn(8, s[0], generator=gen) for s in sizes]
        for model, opt in ((batched, opt_b), (ref, opt_r)):
            opt.zero_grad()
            sum(o.pow(2).sum() for o in model(xs)).backward()
            opt.step()
    xs = [torch.randn(8, s[0], generator=gen) for s in sizes]
    for a, b in zip(batched(xs), ref(xs), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5)
    group = batched.groups[0]
    assert torch.all(group.weights[0][2, 10:] == 0)


def test_subsets_of_subjects_and_conversion_to_reference():
    sizes = [[5, 7, 3], [6, 7, 3], [5, 7, 3]]
    batched, _ = _pair(sizes, 0.5)
    ref = batched.to_per_subject()
    x = torch.randn(4, 6)
    out = batched([None, x, None])
    assert out[0] is None and out[2] is None
    torch.testing.assert_close(out[1], ref([None, x, None])[1])
    # unequal sample counts inside a group take the member-by-member path
    xs = [torch.randn(3, 5), torch.randn(4, 6), torch.randn(5, 5)]
    for a, b in zip(batched(xs), ref(xs), strict=True):
        torch.testing.assert_close(a, b)


def test_rat_grouping_bounds_the_padding():
    sizes = [[d, d, d, 2, 4] for d in RAT_SIZES]
    assert plan_groups(sizes, 0.0) == [[2], [0], [1], [3], [4]]
    assert plan_groups(sizes, 0.15) == [[2, 0], [1], [3, 4]]


def test_the_two_paths_give_the_same_outputs_and_gradients_on_the_same_weights():
    sizes = [[d // 10, d // 10, 2] for d in RAT_SIZES]
    batched, _ = _pair(sizes, 0.15)
    assert any(len(g) > 1 for g in batched.group_members)  # padded groups are exercised
    gen = torch.Generator().manual_seed(3)
    xs = [torch.randn(16, s[0], generator=gen) for s in sizes]
    results = []
    for grouped in (True, False):
        batched.grouped = grouped
        batched.zero_grad(set_to_none=True)
        out = batched(xs)
        sum((o**2).sum() for o in out).backward()
        results.append((out, [p.grad.clone() for p in batched.parameters()]))
    (out_g, grad_g), (out_m, grad_m) = results
    for a, b in zip(out_g, out_m, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-6, atol=1e-7)
    for a, b in zip(grad_g, grad_m, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)
    assert "grouped" not in "".join(batched.state_dict())  # one state_dict for both paths


@pytest.mark.parametrize(
    ("grouped_s", "members_s", "expected"),
    [(1.0, 0.5, False), (1.0, 0.95, True), (1.0, 2.0, True)],  # loop faster by > 10% only
)
def test_choose_path_keeps_the_loop_only_when_clearly_faster(
    monkeypatch, grouped_s, members_s, expected
):
    monkeypatch.setattr(networks, "_CHOSEN", {})
    calls = []

    def fake_seconds(mlp, inputs):
        calls.append(mlp.grouped)
        return grouped_s if mlp.grouped else members_s

    monkeypatch.setattr(networks, "_step_seconds", fake_seconds)
    mlp, _ = _pair([[6, 8, 2], [5, 8, 2]], 0.5)
    first = next(mlp.parameters())
    marker = torch.ones_like(first)
    first.grad = marker
    assert choose_path(mlp, batch_size=4, repeats=3) is expected
    assert mlp.grouped is expected
    assert first.grad is marker  # the caller's gradients are left as they were
    assert calls == [True, False] * 4  # in turns: a warm-up, then 3 timed each
    # measured once per process and shape: a second network of the same sizes reuses it
    other, _ = _pair([[6, 8, 2], [5, 8, 2]], 0.5)
    assert choose_path(other, batch_size=4, repeats=3) is expected
    assert len(calls) == 8
    choose_path(other, batch_size=8, repeats=3)  # another batch size is measured again
    assert len(calls) == 16
