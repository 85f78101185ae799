"""Statistics of A/B votes: win rates with Wilson 95 % intervals and an exact binomial test."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

Z95 = 1.959963984540054


def wilson_interval(wins: int, n: int, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion (sound for small n and rates near 0 or 1)."""
    if n == 0:
        return (0.0, 1.0)
    p = wins / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def binomial_two_sided_p(k: int, n: int) -> float:
    """Exact two-sided p-value of k successes in n fair trials (H0: p = 0.5)."""
    if n == 0:
        return 1.0
    lower = sum(math.comb(n, i) for i in range(0, min(k, n - k) + 1))
    p: float = 2 * lower / 2**n
    return min(1.0, p)


def results(votes: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Per unordered strategy pair: votes, wins, win rates with 95 % CI, p-value, mean rating."""
    pairs: dict[tuple[str, str], dict[str, Any]] = {}
    ratings: dict[tuple[str, str], dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    total = 0
    for v in votes:
        total += 1
        winner = v["strategy_a"] if v["chosen"] == "A" else v["strategy_b"]
        key = tuple(sorted((v["strategy_a"], v["strategy_b"])))
        entry = pairs.setdefault(key, {"n": 0, "wins": {key[0]: 0, key[1]: 0}})
        entry["n"] += 1
        entry["wins"][winner] += 1
        if v.get("rating") is not None:
            ratings[key][winner].append(int(v["rating"]))
    out = []
    for (s1, s2), e in sorted(pairs.items()):
        n, k = e["n"], e["wins"][s1]
        p = binomial_two_sided_p(k, n)
        out.append(
            {
                "strategies": [s1, s2],
                "n": n,
                "wins": e["wins"],
                "win_rate": {s1: k / n, s2: (n - k) / n} if s1 != s2 else {s1: 0.5},
                "ci95": {s1: wilson_interval(k, n), s2: wilson_interval(n - k, n)},
                "p_value": p,
                "significant": p < 0.05,
                "mean_rating_of_winner": {s: sum(r) / len(r) for s, r in ratings[(s1, s2)].items()},
            }
        )
    return {
        "votes": total,
        "pairs": out,
        "method": "win rate per strategy pair; Wilson score 95 % interval; exact two-sided binomial test vs 0.5",
    }
