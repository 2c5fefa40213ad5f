"""The report's cohort figures (from the rollups) against the exact ones (from the history)."""

from __future__ import annotations

from reports.selectors import FactorRow


def assert_factors_match(got: dict[str, list[FactorRow]], exact: dict[str, list[FactorRow]]) -> float:
    """The same groups in the same order, with the same labels and counts (submitted, decided,
    approved); each median within 1 % of ``percentile_cont``'s. Returns the largest relative
    error of a median."""
    assert got.keys() == exact.keys()
    worst = 0.0
    for dimension, rows in exact.items():
        mine = got[dimension]
        assert [(r.key, r.label, r.submitted, r.decided, r.approved) for r in mine] == [
            (r.key, r.label, r.submitted, r.decided, r.approved) for r in rows
        ], dimension
        for row, truth in zip(mine, rows, strict=True):
            if truth.median_to_decision is None:
                assert row.median_to_decision is None, (dimension, row.key)
            elif truth.median_to_decision:
                error = abs(row.median_to_decision - truth.median_to_decision) / abs(truth.median_to_decision)
                worst = max(worst, error)
            else:
                assert row.median_to_decision == 0, (dimension, row.key)
    assert worst < 0.01
    return worst
