"""The few random draws every part of the demo makes, on the caller's ``random.Random`` (a seed
makes a run reproducible)."""

from __future__ import annotations

import datetime as dt
import math
import random
from typing import Any


def pick(rng: random.Random, weights: dict) -> Any:
    """A key of ``weights``, drawn with its weight."""
    return rng.choices(list(weights), weights=list(weights.values()))[0]


def between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    """A moment well inside ``start``–``end``, never on either edge."""
    return start + (end - start) * rng.uniform(0.05, 0.95)


def log_uniform(rng: random.Random, low: float, high: float) -> float:
    """Waiting times are skewed: many short, a few long."""
    return math.exp(rng.uniform(math.log(low), math.log(high)))
