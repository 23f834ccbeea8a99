"""Wall time and peak memory of bootstrap intervals for every metric of one model on both benchmarks.

Synthetic per-row results shaped like one model's scores (nothing is read from disk):

- PixMMVP: 150 pairs / 300 rows with 0/1 letter and judge correctness; 286 mask rows (14 "None" rows left
  out, 39 with empty ground truth) with IoUs, intersections and unions for the ``segment`` and ``vqa``
  masks. Pairs are the resampling units; rows take their pair's weight.
- PixCV-Bench: 1,438 rows, 633 ADE20K and 805 COCO, with correctness and masks as above, resampled
  within each source (stratified), every metric being the mean of the two sources' values.

Every metric gets a percentile interval: A, A†, per-question A and A†, M, M†, cIoU, cIoU† and S on
PixMMVP; A, A†, M, M†, cIoU, cIoU† and S on PixCV-Bench. The time includes drawing the weights. A paired
comparison with a second model (same weights, every metric) is timed apart, as ``pixbench compare``
would run it.

    python perf/bench_bootstrap.py [--resamples 10000] [--seed 0] [--repeats 3]

Target (2-core machine): 10,000 resamples over both benchmarks under 2 s.
"""

from __future__ import annotations

import argparse
import resource
import time
from dataclasses import dataclass

import numpy as np

from pixbench.metrics import stats


@dataclass
class Model:
    """Per-row results of one model on both benchmarks."""

    mmvp_letter: np.ndarray
    mmvp_judge: np.ndarray
    mmvp_masks: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]  # probe -> ious, inters, unions
    cv_letter: np.ndarray
    cv_judge: np.ndarray
    cv_masks: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]]


def _masks(rng: np.random.Generator, n: int, n_empty: int,
           quality: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gt = rng.integers(500, 50_000, size=n)
    gt[:n_empty] = 0
    pred = (gt * rng.uniform(0.2, 1.5, size=n)).astype(np.int64)
    pred[rng.random(n) < 0.2] = 0
    inters = np.minimum(pred, gt) * (rng.random(n) < quality) * rng.uniform(0.3, 1.0, size=n)
    inters = inters.astype(np.int64)
    unions = pred + gt - inters
    ious = np.where(unions > 0, inters / np.maximum(unions, 1), 1.0)
    return ious, inters, unions


def make_model(seed: int, skill: float) -> Model:
    """Synthetic results; ``skill`` shifts accuracies and mask quality."""
    rng = np.random.default_rng(seed)
    return Model(
        mmvp_letter=rng.random(300) < 0.5 * skill, mmvp_judge=rng.random(300) < 0.45 * skill,
        mmvp_masks={p: _masks(rng, 286, 39, 0.6 * skill) for p in ("segment", "vqa")},
        cv_letter=rng.random(1438) < 0.6 * skill, cv_judge=rng.random(1438) < 0.55 * skill,
        cv_masks={p: _masks(rng, 1438, 0, 0.7 * skill) for p in ("segment", "vqa")},
    )


# Fixed layout: 14 "None" rows (7 pairs) out of the mask rows; sources of the CV-Bench rows.
MMVP_PAIR_OF_ROW = np.repeat(np.arange(150), 2)
MMVP_MASK_ROWS = np.arange(286)  # 0-based: ids 287..300 (7 pairs) have no expression
CV_SOURCE = np.array(["ADE20K"] * 633 + ["COCO"] * 805)


def mmvp_samples(model: Model, pair_weights: np.ndarray) -> dict[str, np.ndarray]:
    """Bootstrap values of every PixMMVP metric (pairs resampled; rows take their pair's weight)."""
    row_weights = stats.expand_weights(pair_weights, MMVP_PAIR_OF_ROW)
    mask_weights = row_weights[:, MMVP_MASK_ROWS]
    out: dict[str, np.ndarray] = {}
    for name, correct in (("A", model.mmvp_letter), ("A_dagger", model.mmvp_judge)):
        out[name] = stats.weighted_mean(pair_weights, correct.reshape(150, 2).all(axis=1))
        out[f"{name}_per_question"] = stats.weighted_mean(row_weights, correct)
    for probe, suffix in (("segment", ""), ("vqa", "_dagger")):
        ious, inters, unions = model.mmvp_masks[probe]
        out[f"M{suffix}"] = stats.weighted_mean(mask_weights, ious)
        out[f"cIoU{suffix}"] = stats.weighted_ratio(mask_weights, inters, unions)
    s = stats.harmonic_score_samples(accuracies=[out["A"], out["A_dagger"]], masks=[out["M"], out["M_dagger"]])
    if s is None:
        raise RuntimeError("S is undefined although every term was measured")
    out["S"] = s
    return out


def cv_samples(model: Model, weights: np.ndarray) -> dict[str, np.ndarray]:
    """Bootstrap values of every PixCV-Bench metric (rows resampled within their source)."""
    out: dict[str, np.ndarray] = {}
    for name, correct in (("A", model.cv_letter), ("A_dagger", model.cv_judge)):
        out[name] = stats.stratum_mean(weights, correct, CV_SOURCE)
    for probe, suffix in (("segment", ""), ("vqa", "_dagger")):
        ious, inters, unions = model.cv_masks[probe]
        out[f"M{suffix}"] = stats.stratum_mean(weights, ious, CV_SOURCE)
        out[f"cIoU{suffix}"] = stats.stratum_ratio(weights, inters, unions, CV_SOURCE)
    s = stats.harmonic_score_samples(accuracies=[out["A"], out["A_dagger"]], masks=[out["M"], out["M_dagger"]])
    if s is None:
        raise RuntimeError("S is undefined although every term was measured")
    out["S"] = s
    return out


def intervals(model: Model, resamples: int,
              seed: int) -> tuple[dict[str, dict[str, stats.Interval]], dict[str, np.ndarray]]:
    """Weights, every metric's bootstrap values and intervals; also returns the weights for reuse."""
    pair_weights = stats.bootstrap_weights(150, resamples=resamples, seed=seed)
    cv_weights = stats.bootstrap_weights(1438, resamples=resamples, seed=seed, strata=CV_SOURCE)
    result = {}
    all_samples = {"pixmmvp": mmvp_samples(model, pair_weights), "pixcvbench": cv_samples(model, cv_weights)}
    for bench, samples in all_samples.items():
        result[bench] = {k: stats.Interval.from_samples(v, seed=seed) for k, v in samples.items()}
    return result, {"pixmmvp": pair_weights, "pixcvbench": cv_weights}


def compare(a: Model, b: Model, weights: dict[str, np.ndarray]) -> dict[str, dict[str, stats.PairedResult]]:
    """Paired bootstrap of every metric and McNemar on every accuracy, as ``pixbench compare`` would."""
    out: dict[str, dict[str, stats.PairedResult]] = {}
    for bench, fn in (("pixmmvp", mmvp_samples), ("pixcvbench", cv_samples)):
        sa, sb = fn(a, weights[bench]), fn(b, weights[bench])
        out[bench] = {k: stats.paired_bootstrap(sa[k], sb[k]) for k in sa}
    stats.mcnemar_exact(a.mmvp_letter.reshape(150, 2).all(axis=1), b.mmvp_letter.reshape(150, 2).all(axis=1))
    stats.mcnemar_exact(a.cv_letter, b.cv_letter)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resamples", type=int, default=stats.DEFAULT_RESAMPLES)
    parser.add_argument("--seed", type=int, default=stats.DEFAULT_SEED)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    model_a, model_b = make_model(1, 1.0), make_model(2, 0.9)
    base_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    times, compare_times = [], []
    for _ in range(args.repeats):
        start = time.perf_counter()
        result, weights = intervals(model_a, args.resamples, args.seed)
        times.append(time.perf_counter() - start)
        start = time.perf_counter()
        paired = compare(model_a, model_b, weights)
        compare_times.append(time.perf_counter() - start)
        del weights
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    for bench, metrics in result.items():
        print(bench)
        for name, interval in metrics.items():
            d = paired[bench][name]
            print(f"  {name:24} [{interval.low:7.3f}, {interval.high:7.3f}]   "
                  f"a-b {d.difference:+7.3f} [{d.low:+7.3f}, {d.high:+7.3f}] p={d.p_value:.4f}")
    runs = ", ".join(f"{t:.3f}" for t in times)
    print(f"\n{args.resamples} resamples, both benchmarks, all metrics incl. weights: "
          f"first {times[0]:.3f} s, best {min(times):.3f} s  ({runs})")
    print(f"paired comparison with a second model (same weights): best {min(compare_times):.3f} s")
    print(f"peak RSS {peak_mb:.0f} MB (interpreter + numpy before the run: {base_mb:.0f} MB)")
    ok = min(times) < 2.0
    print("target < 2 s:", "ok" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
