"""The ensemble of the training layer: K modules trained as one equal K loop.train fits."""

import pytest
import torch

from neuromix.models.architectures import build_networks
from neuromix.models.likelihoods import get_likelihood
from neuromix.models.registry import get_method
from neuromix.models.vae import MultimodalModule
from neuromix.training.ensemble import Ensemble, Member, train_ensemble
from neuromix.training.loop import train, training_generator
from neuromix.training.samplers import ArraySampler

SHAPES = [(7,), (4,), (6,)]


def module(seed, *, shapes=SHAPES, method="mmvm", archs=None):
    liks = [get_likelihood("gaussian")] * len(shapes)
    gen = torch.Generator().manual_seed(seed)
    archs = archs or ["mlp"] * len(shapes)
    enc, dec = build_networks(shapes, liks, archs, 2, hidden=(0.5, 1.0), generator=gen)
    return MultimodalModule(enc, dec, liks, get_method(method), 2)


@pytest.fixture
def data():
    gen = torch.Generator().manual_seed(0)
    return [torch.randn(90, d, generator=gen) for (d,) in SHAPES]


def test_equals_separate_training_loops(data):
    settings = [(0, 1.0, None), (1, 0.3, None), (2, 1.0, 0.5)]  # (seed, beta, clip_grad)
    members = [
        Member(module(s), ArraySampler(data), training_generator(s), beta=b, clip_grad=c,
               validation=ArraySampler([x[:20] for x in data]), name=f"seed={s}")
        for s, b, c in settings
    ]  # fmt: skip
    histories, seconds = train_ensemble(members, epochs=3, batch_size=32, lr=1e-2, progress=False)
    assert seconds > 0
    for (seed, beta, clip), member, history in zip(settings, members, histories, strict=True):
        ref = module(seed)
        expected = train(
            ref, ArraySampler(data), epochs=3, batch_size=32, lr=1e-2, beta=beta,
            generator=training_generator(seed), clip_grad=clip, progress=False,
            validation=ArraySampler([x[:20] for x in data]),
        )  # fmt: skip
        for name, value in ref.state_dict().items():
            got = member.module.state_dict()[name]
            torch.testing.assert_close(got, value, rtol=1e-4, atol=1e-5, msg=name)
        for got, want in zip(history, expected, strict=True):
            assert got.keys() == want.keys()
            for key in ("loss", "recon", "rate", "val_loss"):
                assert got[key] == pytest.approx(want[key], rel=1e-5)


def test_models_get_their_own_storage_back(data):
    members = [Member(module(s), ArraySampler(data), training_generator(s)) for s in (0, 1)]
    train_ensemble(members, epochs=1, batch_size=45, lr=1e-3, progress=False)
    for member in members:
        for p in member.module.parameters():
            assert p.untyped_storage().nbytes() == p.numel() * p.element_size()
    before = members[1].module.state_dict()
    first = next(iter(members[0].module.parameters()))
    with torch.no_grad():
        first.add_(1.0)
    after = members[1].module.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_refuses_what_cannot_be_grouped(data):
    with pytest.raises(ValueError, match="same sizes"):
        Ensemble([module(0), module(1, shapes=[(7,), (4,), (5,)])])
    with pytest.raises(ValueError, match="same subjects, latent_dim"):
        Ensemble([module(0), module(1, shapes=SHAPES[:2])])
    images = [(3, 28, 28), (5,)]
    with pytest.raises(ValueError, match=r"every subject has an MLP \(architecture 'mlp'\)"):
        Ensemble([module(0, shapes=images, archs=["image", "mlp"])] * 2)
    members = [
        Member(module(0), ArraySampler(data), training_generator(0), name="long"),
        Member(module(1), ArraySampler([x[:40] for x in data]), training_generator(1)),
    ]
    with pytest.raises(ValueError, match="as many training batches per epoch"):
        train_ensemble(members, epochs=1, batch_size=32, lr=1e-3, progress=False)
