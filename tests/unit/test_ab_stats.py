import math

import pytest

from server.tools.ab_stats import binomial_two_sided_p, results, wilson_interval


def test_wilson_interval_known_values() -> None:
    lo, hi = wilson_interval(8, 10)
    assert lo == pytest.approx(0.4902, abs=1e-4) and hi == pytest.approx(0.9433, abs=1e-4)
    assert wilson_interval(0, 0) == (0.0, 1.0)
    lo, hi = wilson_interval(0, 20)
    assert lo == 0.0 and 0.1 < hi < 0.2


def test_exact_binomial_test_known_values() -> None:
    assert binomial_two_sided_p(5, 10) == 1.0
    assert binomial_two_sided_p(9, 10) == pytest.approx(22 / 1024)  # 2 * (1 + 10) / 1024
    assert binomial_two_sided_p(1, 10) == binomial_two_sided_p(9, 10)
    assert binomial_two_sided_p(60, 100) == pytest.approx(0.05689, abs=1e-4)


def test_results_per_pair_regardless_of_side() -> None:
    votes = [{"strategy_a": "direct", "strategy_b": "hybrid", "chosen": "B", "rating": 4}] * 9 + [
        {"strategy_a": "hybrid", "strategy_b": "direct", "chosen": "B", "rating": 2}
    ]  # sides swapped: direct won
    r = results(votes)
    (pair,) = r["pairs"]
    assert pair["strategies"] == ["direct", "hybrid"] and pair["n"] == 10
    assert pair["wins"] == {"direct": 1, "hybrid": 9}
    assert pair["win_rate"]["hybrid"] == 0.9 and pair["significant"]
    assert pair["mean_rating_of_winner"] == {"hybrid": 4.0, "direct": 2.0}
    assert math.isclose(sum(pair["win_rate"].values()), 1.0)
