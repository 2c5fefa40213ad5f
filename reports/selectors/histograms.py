"""The rollups' histograms of durations (stays, times to decision): log-spaced buckets, and
the percentiles read back from them.

**Buckets.** A duration of s seconds (to the millisecond) falls in bucket
⌊log_RATIO(1000·s)⌋ (0 for one millisecond); 0 s in bucket −1; a negative duration (a clock set
back) in −2 − ⌊log_RATIO(−1000·s)⌋, so that the indexes follow the durations' order. A bucket is
read as its geometric middle, RATIO^(b + ½) ms: every duration in it lies within a factor
√RATIO (0.995 % for 1.02) of that value, so a quantile read from the merged histogram — the
middle of the bucket holding the rank, interpolated between the two ranks as ``percentile_cont``
does — is within 1 % of the exact one.

A histogram is stored sparsely as two ``integer[]`` of the same length (the bucket indexes in
ascending order and their counts); PostgreSQL merges them with ``unnest(buckets, counts)`` and
``SUM … GROUP BY bucket``, and ``rank_picks_sql`` finds the buckets holding a percentile's two
ranks with a running sum.
"""

from __future__ import annotations

import math

RATIO = 1.02
# Buckets per octave: a coarser bucket, ratio RATIO ** OCTAVE (1.88), that the approval factors'
# rollups split their histograms by (``octave_sql``), so that a median is found from the octaves'
# counts first and then from one octave's buckets.
OCTAVE = 32


def bucket_middle(bucket: int) -> float:
    """The value (seconds) a bucket is read as: its geometric middle."""
    if bucket >= 0:
        return RATIO ** (bucket + 0.5) / 1000
    if bucket == -1:
        return 0.0
    return -(RATIO ** (-2 - bucket + 0.5)) / 1000


def bucket_of(seconds: float) -> int:
    """The bucket of a duration, as the SQL computes it (for tests)."""
    if seconds > 0:
        return math.floor(math.log(seconds * 1000) / math.log(RATIO))
    if seconds == 0:
        return -1
    return -2 - math.floor(math.log(-seconds * 1000) / math.log(RATIO))


def bucket_sql(value: str) -> str:
    """SQL for ``bucket_of(value)``: NULL for a NULL value."""
    log = f"ln({RATIO!r})"
    return (
        f"CASE WHEN {value} > 0 THEN CAST(floor(ln({value} * 1000) / {log}) AS integer)"
        f" WHEN {value} = 0 THEN -1"
        f" ELSE -2 - CAST(floor(ln(-{value} * 1000) / {log}) AS integer) END"
    )


def middle_sql(bucket: str) -> str:
    """SQL for ``bucket_middle``."""
    return (
        f"CASE WHEN {bucket} >= 0 THEN power({RATIO!r}, {bucket} + 0.5) / 1000"
        f" WHEN {bucket} = -1 THEN 0"
        f" ELSE -power({RATIO!r}, -2 - {bucket} + 0.5) / 1000 END"
    )


def octave_sql(bucket: str) -> str:
    """SQL for the octave of a bucket: ⌊bucket / OCTAVE⌋ (octaves follow the buckets' order)."""
    return f"CAST(floor({bucket} / {OCTAVE}.0) AS integer)"


def rank_picks_sql(percentiles: tuple[float, ...]) -> str:
    """The aggregates, over rows of (bucket, upto: the running count up to and including the
    bucket, total), that pick each percentile's two buckets: those of the values at ranks
    ⌊p·(n − 1)⌋ and ⌈p·(n − 1)⌉ (0-based), named ``pct_<p>_lo`` and ``pct_<p>_hi``."""
    picks = []
    for p in percentiles:
        name = f"pct_{round(p * 100)}"
        for end, rounding in (("lo", "floor"), ("hi", "ceil")):
            picks.append(f"MIN(bucket) FILTER (WHERE upto > {rounding}({p} * (total - 1))) AS {name}_{end}")
    return ", ".join(picks)


def interpolated(p: float, total: int | None, low: int | None, high: int | None) -> float | None:
    """``percentile_cont``'s interpolation between the values at ranks ⌊p·(n − 1)⌋ and the next,
    each read as the middle of its bucket."""
    if not total or low is None or high is None:
        return None
    position = p * (int(total) - 1)
    below, above = bucket_middle(low), bucket_middle(high)
    return below + (position - math.floor(position)) * (above - below)
