"""Calibrated confidences: how often a field the blended triager gives at a raw confidence is right.

The blend's raw confidences are shy (an order whose category comes at 0.45 is right about
eight times in ten in cross-validation), so half of all orders asked the operator to
confirm. A ``Calibration`` maps each field's raw confidence to the share of orders that
were right at that confidence in cross-validation of the shipped history: an increasing
curve through a few points (isotonic regression on equal-count bins), read by linear
interpolation. ``cityline triage crossval`` fits the curves on its pooled folds and reports
them; the ones shipped (``SHIPPED``) are copied from that report (triage/README.md).
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass

FIELDS = ("kind", "category", "urgency")
Curve = tuple[tuple[float, float], ...]  # (raw confidence, share right), raw increasing


@dataclass(frozen=True)
class Calibration:
    curves: dict[str, Curve]

    def __call__(self, field: str, raw: float) -> float:
        curve = self.curves.get(field)
        return raw if not curve else _interpolate(curve, raw)


def _raw(point: tuple[float, float]) -> float:
    return point[0]


def _interpolate(curve: Curve, raw: float) -> float:
    at = bisect_right(curve, raw, key=_raw)
    if at == 0:
        return curve[0][1]
    if at == len(curve):
        return curve[-1][1]
    (x0, y0), (x1, y1) = curve[at - 1], curve[at]
    return y0 + (y1 - y0) * (raw - x0) / (x1 - x0) if x1 > x0 else y1


def fit_curve(raw: Sequence[float], right: Sequence[bool], bins: int = 12) -> Curve:
    """An increasing curve through the bins' (mean raw confidence, share right), adjacent bins
    pooled wherever the share would go down (pool adjacent violators)."""
    pairs = sorted(zip(raw, right, strict=True))
    if not pairs:
        return ()
    size = max(len(pairs) // bins, 1)
    blocks = []  # [sum of raw, number right, count]
    for start in range(0, len(pairs), size):
        chunk = pairs[start : start + size]
        blocks.append([sum(x for x, _ in chunk), sum(1 for _, ok in chunk if ok), len(chunk)])
        while len(blocks) > 1 and blocks[-2][1] / blocks[-2][2] >= blocks[-1][1] / blocks[-1][2]:
            last = blocks.pop()
            for i in range(3):
                blocks[-1][i] += last[i]
    return tuple((round(s / n, 3), round(k / n, 3)) for s, k, n in blocks)


def fit(raw: dict[str, Sequence[float]], right: dict[str, Sequence[bool]]) -> Calibration:
    return Calibration({field: fit_curve(raw[field], right[field]) for field in FIELDS})


# Fitted by `cityline triage crossval` (5 folds of the shipped history, seed 7).
SHIPPED = Calibration({
    "kind": (
        (0.473, 0.566), (0.647, 0.825), (0.805, 0.933), (0.943, 0.952), (0.983, 0.983), (0.993, 0.992),
        (0.998, 0.994), (1.0, 1.0),
    ),
    "category": (
        (0.259, 0.512), (0.413, 0.743), (0.523, 0.805), (0.66, 0.905), (0.773, 0.941), (0.881, 0.973),
        (0.962, 0.974), (0.993, 0.987), (1.0, 0.997), (1.0, 1.0),
    ),
    "urgency": (
        (0.551, 0.56), (0.67, 0.722), (0.754, 0.846), (0.816, 0.895), (0.864, 0.949), (0.899, 0.961),
        (0.923, 0.974), (0.967, 0.987),
    ),
})
