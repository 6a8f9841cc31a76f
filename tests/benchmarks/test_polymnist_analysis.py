"""The paired comparison over seeds of the PolyMNIST benchmark and the report's verdict."""

import math

import numpy as np
import pandas as pd
import pytest

from neuromix.benchmarks.polymnist import paired_comparison
from neuromix.benchmarks.polymnist.analysis import _verdict, _verdict_notes


def t_two_sided_p_df2(t):
    # Student t with 2 degrees of freedom: CDF(t) = 1/2 + t / (2 sqrt(2 + t^2))
    return 1.0 - abs(t) / math.sqrt(2.0 + t * t)


# t_{0.975, 2}: t / sqrt(2 + t^2) = 0.95  =>  t^2 = 2 * 0.9025 / 0.0975
T975_DF2 = math.sqrt(2 * 0.9025 / 0.0975)


def rows(method, seed, recon, accuracy):
    return [
        {"method": method, "beta": 2.0**k, "seed": seed, "recon": r, "accuracy": a}
        for k, (r, a) in enumerate(zip(recon, accuracy, strict=True))
    ]


def test_mmvm_a_constant_above_a_linear_baseline():
    # baseline accuracy 0.1 + 0.05 recon, MMVM exactly 0.1 above that line at its own
    # points (recon 1 ... 9): interpolating MMVM at any baseline point gives +0.1
    line = lambda r: 0.1 + 0.05 * np.asarray(r)  # noqa: E731
    data = []
    for seed in range(3):
        mmvm_x = [1.0, 4.0, 9.0]
        base_x = [2.0 + seed, 5.0, 8.5]
        data += rows("mmvm", seed, mmvm_x, line(mmvm_x) + 0.1)
        data += rows("avg", seed, base_x, line(base_x))
    table = pd.DataFrame(data).sample(frac=1, random_state=1)  # order must not matter
    cmp = paired_comparison(table)
    assert cmp["method"].tolist() == ["avg"]
    row = cmp.iloc[0]
    assert row.n_seeds == 3 and row.n_positive == 3
    assert row.mean_difference == pytest.approx(0.1)
    assert row.ci_low == pytest.approx(0.1) and row.ci_high == pytest.approx(0.1)
    assert row.p_value < 1e-6


def test_against_a_hand_computation():
    # MMVM (recon 1, 3, 5 -> accuracy 0.2, 0.6, 0.7) + delta_s; baseline at recon 2, 4
    # (inside MMVM's range) and 8 (outside, ignored) with accuracy 0.3, 0.5, 0.9.
    # By hand: MMVM at 2 is 0.4, at 4 is 0.65: d = mean(0.1, 0.15) + delta_s.
    deltas = [0.0, 0.1, -0.05]
    data = []
    for seed, delta in enumerate(deltas):
        data += rows("mmvm", seed, [5.0, 1.0, 3.0], [0.7 + delta, 0.2 + delta, 0.6 + delta])
        data += rows("poe", seed, [8.0, 2.0, 4.0], [0.9, 0.3, 0.5])
    d = np.array([0.125, 0.225, 0.075])
    mean, sd = d.mean(), d.std(ddof=1)
    t = mean / (sd / math.sqrt(3))
    row = paired_comparison(pd.DataFrame(data)).iloc[0]
    assert row.method == "poe" and row.n_seeds == 3 and row.n_positive == 3
    assert row.mean_difference == pytest.approx(0.1416667, abs=1e-6)
    assert row.ci_low == pytest.approx(mean - T975_DF2 * sd / math.sqrt(3))
    assert row.ci_high == pytest.approx(mean + T975_DF2 * sd / math.sqrt(3))
    assert row.p_value == pytest.approx(t_two_sided_p_df2(t))


def test_seeds_without_a_matched_point_are_left_out_and_one_seed_has_no_test():
    data = rows("mmvm", 0, [1.0, 3.0], [0.5, 0.7]) + rows("avg", 0, [2.0], [0.5])
    data += rows("mmvm", 1, [1.0, 3.0], [0.5, 0.7]) + rows("avg", 1, [9.0], [0.5])
    data += rows("moe", 0, [10.0], [0.5]) + rows("moe", 1, [10.0], [0.5])
    cmp = paired_comparison(pd.DataFrame(data), y="accuracy").set_index("method")
    assert cmp.loc["avg", "n_seeds"] == 1
    assert cmp.loc["avg", "mean_difference"] == pytest.approx(0.1)
    assert cmp.loc[["avg"], ["ci_low", "ci_high", "p_value"]].isna().all(axis=None)
    assert cmp.loc["moe", "n_seeds"] == 0 and pd.isna(cmp.loc["moe", "mean_difference"])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"reference": "mopoe"}, "reference method 'mopoe' is not in the table"),
        ({"y": "coherence"}, "'coherence' is not a column of table"),
    ],
)
def test_paired_comparison_errors(kwargs, match):
    table = pd.DataFrame(rows("mmvm", 0, [1.0], [0.5]) + rows("avg", 0, [1.0], [0.4]))
    with pytest.raises(ValueError, match=match):
        paired_comparison(table, **kwargs)


def verdict_table(seeds):
    # per seed s, MMVM's accuracy is a line in recon; each baseline sits at recon 2 and 3
    # at that line minus an offset: avg +0.2 (+-0.01), poe -0.2 (+-0.01), moe around 0
    # (+0.1, -0.1, +0.05); independent's points lie outside MMVM's range
    offsets = {
        "avg": [0.2, 0.21, 0.19],
        "poe": [-0.2, -0.19, -0.21],
        "moe": [0.1, -0.1, 0.05],
    }
    data = []
    for s in range(seeds):
        data += rows("mmvm", s, [1.0, 4.0], [0.5, 0.8])
        for method, offset in offsets.items():
            data += rows(method, s, [2.0, 3.0], [0.6 - offset[s], 0.7 - offset[s]])
        data += rows("independent", s, [5.0, 6.0], [0.3, 0.2])
    return pd.DataFrame(data).assign(coherence=lambda t: t["accuracy"])


def test_verdict_over_three_seeds():
    text = _verdict(verdict_table(3), [("accuracy", "probe accuracy")])
    assert text.startswith(
        "At matched reconstruction, MMVM's probe accuracy is above AVG (+0.200 ["
    )
    assert "3/3 seeds)" in text
    assert "below PoE (-0.200 [" in text and "0/3 seeds" in text
    assert "not distinguishable from MoE (+0.017 [" in text and "2/3 seeds" in text
    assert text.endswith(
        "not comparable with independent VAEs (no point of any seed within MMVM's range of "
        "reconstruction)."
    )
    assert "3 seeds the test has 2 degrees of freedom (t = 4.30)" in _verdict_notes(
        verdict_table(3)
    )


def test_verdict_over_two_scores_is_one_sentence():
    text = _verdict(verdict_table(3), [("accuracy", "probe accuracy"), ("coherence", "same")])
    assert text.startswith("At matched reconstruction, MMVM's probe accuracy is above AVG")
    assert ", while MMVM's same is above AVG (+0.200 [" in text
    assert text.count(". ") == 0 and text.endswith("reconstruction).")


def test_verdict_with_one_seed_says_no_test_is_possible():
    text = _verdict(verdict_table(1), [("coherence", "coherence")])
    assert text.startswith("With a single seed no paired test over seeds is possible")
    assert "AVG +0.200" in text and "PoE -0.200" in text
    assert "independent VAEs (no point within MMVM's range" in text
    assert "degrees of freedom" not in _verdict_notes(verdict_table(1))


def test_verdict_without_mmvm():
    table = verdict_table(2).query("method != 'mmvm'")
    assert "MMVM and at least one other method are needed" in _verdict(
        table, [("accuracy", "probe accuracy")]
    )
