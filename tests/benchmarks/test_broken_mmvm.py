"""benchmarks/broken_mmvm.py: its broken MMVM variants and its summary (the script's
benchmark run itself is not part of the tests)."""

import numpy as np
import pandas as pd
import torch

from neuromix.benchmarks.polymnist import get_setting
from neuromix.models.registry import available, unregister

SCRIPT_NAME = "broken_mmvm"  # the `script` fixture (tests/conftest.py) imports it


def test_the_variants_rates(script):
    assert "mmvm-reversed total rate = MMVM's" in script.check_rates()
    # one subject present: MMVM's rate is 0, the no-prior variant's is its KL to N(0, I)
    mu, logvar = torch.ones(2, 3, 4), torch.zeros(2, 3, 4)
    mask = torch.tensor([[True, False, False]] * 2)
    assert torch.allclose(script.ReversedMMVM().plan(mu, logvar, mask).rate, torch.zeros(2))
    assert torch.allclose(script.NoPriorMMVM().plan(mu, logvar, mask).rate, torch.full((2,), 2.0))


def test_registered_variants_make_a_setting(script):
    script.register()
    script.register()  # twice: no error
    try:
        setting = get_setting("quick", methods=("mmvm", *script.VARIANTS))
        assert setting.methods == ("mmvm", "mmvm-noprior", "mmvm-reversed")
    finally:
        for name in script.VARIANTS:
            unregister(name)
    assert not set(script.VARIANTS) & set(available())


def test_summary_flags_a_worse_variant(script):
    rows = []
    for seed in range(3):
        for beta in (0.5, 2.0):
            for method, drop in (("mmvm", 0.0), ("mmvm-noprior", 0.3), ("mmvm-reversed", 0.0)):
                noise = 0.01 * ((seed * 7 + int(beta * 2)) % 3)
                rows.append(
                    {
                        "method": method,
                        "beta": beta,
                        "seed": seed,
                        "accuracy": 0.8 - drop / 3 + noise,
                        "coherence": 0.7 - drop + noise,
                        "recon": 100.0 * beta + seed,
                    }
                )
    text = script.summarize(pd.DataFrame(rows))
    lines = {line.split()[0]: line for line in text.splitlines() if "->" in line}
    assert lines["mmvm-noprior"].count("-> measurably worse") == 2
    assert lines["mmvm-reversed"].count("-> not measurably worse") == 2
    assert "coherence +0.300 [+0.300, +0.300]" in lines["mmvm-noprior"]
    assert np.isfinite(float(text.split("coherence mmvm-noprior")[1].split()[0]))
