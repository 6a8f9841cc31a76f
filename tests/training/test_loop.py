"""The training loop's pieces against their torch references."""

import pytest
import torch

from neuromix.training.loop import _clip_grad_norm, resolve_device


@pytest.mark.parametrize("scale", [0.01, 10.0])
def test_clip_grad_norm_matches_torch(scale):
    gen = torch.Generator().manual_seed(0)
    shapes = [(5, 3), (7,), (2, 2, 2)]
    ours = [torch.nn.Parameter(torch.randn(s, generator=gen)) for s in shapes]
    ref = [torch.nn.Parameter(p.detach().clone()) for p in ours]
    for p, q in zip(ours, ref, strict=True):
        p.grad = torch.randn(p.shape, generator=gen) * scale
        q.grad = p.grad.clone()
    _clip_grad_norm(ours, 1.0)
    torch.nn.utils.clip_grad_norm_(ref, 1.0)
    for p, q in zip(ours, ref, strict=True):
        torch.testing.assert_close(p.grad, q.grad)


def test_auto_device_is_cpu_without_cuda():
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    assert resolve_device("cpu") == torch.device("cpu")


@pytest.mark.parametrize(("clip_grad", "expected_calls"), [(100.0, 4), (None, 0)])
def test_estimators_apply_gradient_clipping(monkeypatch, clip_grad, expected_calls):
    import neuromix as nm
    from neuromix.training import loop

    calls = []
    monkeypatch.setattr(loop, "_clip_grad_norm", lambda params, bound, **kw: calls.append(bound))
    X, _ = nm.datasets.make_multiview(n_samples=64, seed=0)
    nm.MultimodalVAE(
        epochs=2, batch_size=32, validation_fraction=0.0, progress=False, clip_grad=clip_grad
    ).fit(X)
    assert calls == [clip_grad] * expected_calls
    calls.clear()
    rec = nm.datasets.simulate_odor_sequence(
        seed=0, n_trials=40, n_units=4, subjects=["Barat", "Mitt"]
    )
    nm.fit(rec, epochs=1, beta=10.0, progress=False, clip_grad=clip_grad, missing="drop")
    assert len(calls) > 0 if clip_grad else calls == []
