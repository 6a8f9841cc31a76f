"""Speed, memory and exactness of :func:`neuromix.data.bin_spikes` on a large recording.

1,000 units x 1 hour of homogeneous Poisson spikes, rates drawn uniformly in 2-20 Hz
(mean 11 Hz, about 40 million spikes), binned at 10 ms (360,000 bins per unit), against
``np.histogram`` per unit measured in the same run. Then a check of spikes lying exactly
on bin edges, where ``floor(t / bin)`` and float edges go wrong.

Run with ``python benchmarks/binning_speed.py`` (``--units`` / ``--hours`` to change
the size).
"""

from __future__ import annotations

import argparse
import resource
import time
import tracemalloc

import numpy as np

from neuromix.data import bin_spikes


def poisson_units(n_units: int, duration: float, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    rng = np.random.default_rng(seed)
    rates = rng.uniform(2.0, 20.0, n_units)
    units = [np.sort(rng.uniform(0.0, duration, rng.poisson(r * duration))) for r in rates]
    return units, rates


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=1000)
    parser.add_argument("--hours", type=float, default=1.0)
    parser.add_argument("--bin-size", type=float, default=0.01)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    duration = 3600.0 * args.hours
    n_bins = round(duration / args.bin_size)

    t0 = time.perf_counter()
    units, rates = poisson_units(args.units, duration, args.seed)
    n_spikes = sum(u.size for u in units)
    print(
        f"data: {args.units} units x {duration:.0f} s, rates U(2, 20) Hz "
        f"(mean {rates.mean():.1f} Hz), {n_spikes:,} spikes, {n_bins:,} bins of "
        f"{args.bin_size * 1e3:g} ms per unit (made in {time.perf_counter() - t0:.1f} s)"
    )
    kwargs = {"t_start": 0.0, "t_stop": duration, "bin_size": args.bin_size}

    # Timing without tracemalloc (it slows allocations); first and later runs.
    # The first call also page-faults the fresh output memory (the OS zeroes 360 MB).
    times = []
    for _ in range(3):
        start = time.perf_counter()
        counts = bin_spikes(units, **kwargs)
        times.append(time.perf_counter() - start)
        del counts
    maxrss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    tracemalloc.start()
    counts = bin_spikes(units, **kwargs)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    maxrss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    later = ", ".join(f"{t:.2f}" for t in times[1:])
    print(
        f"bin_spikes: first call {times[0]:.2f} s, then {later} s; "
        f"output {counts.dtype} {counts.shape}, {counts.nbytes / 1e6:.0f} MB; "
        f"peak extra memory {peak / 1e6:.0f} MB (tracemalloc); "
        f"process max RSS {maxrss_before / 1e3:.0f} -> {maxrss_after / 1e3:.0f} MB"
    )

    # Reference: np.histogram per unit (one int64 row at a time), same run.
    start = time.perf_counter()
    differing = []
    for u, spikes in enumerate(units):
        row, _ = np.histogram(spikes, bins=n_bins, range=(0.0, duration))
        if np.any(row != counts[u]):
            differing.append((u, int(np.abs(row.astype(np.int64) - counts[u]).sum())))
    reference = time.perf_counter() - start
    print(
        f"np.histogram per unit: {reference:.2f} s; units differing from bin_spikes: "
        f"{len(differing)} of {args.units}"
    )
    # bin_spikes rounds times to 1 ns ticks (no time_resolution given): a spike less than
    # 0.5 ns before an edge belongs to the bin starting at that edge. Count those spikes
    # in the differing units: each moves one count between neighbouring bins.
    for u, moved in differing:
        ratio = units[u] / args.bin_size
        near = np.abs(ratio - np.rint(ratio)) * args.bin_size < 0.5e-9
        print(
            f"  unit {u}: {moved} counts differ; spikes within 0.5 ns of an edge: "
            f"{int(near.sum())} (e.g. t = {units[u][near][:2].tolist()})"
        )

    # Spikes exactly on every bin edge k * bin_size (as floats): each must count once in
    # bin k.
    edges = np.arange(n_bins) * args.bin_size
    on_edges = bin_spikes([edges], **kwargs)[0]
    naive = np.bincount(np.floor(edges / args.bin_size).astype(np.int64), minlength=n_bins)
    histogram, _ = np.histogram(edges, bins=n_bins, range=(0.0, duration))
    print(
        f"spikes on edges ({n_bins:,}): bins != 1 with bin_spikes: "
        f"{int(np.sum(on_edges != 1))}; with floor(t / bin): {int(np.sum(naive[:n_bins] != 1))}; "
        f"with np.histogram: {int(np.sum(histogram != 1))}"
    )


if __name__ == "__main__":
    main()
