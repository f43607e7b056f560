"""The value models (loyalty.domain.clv): fitted on members simulated from known parameters they
find those parameters again; their predictions behave as a marketer would expect (a long silence
lowers the chance a member still buys; a member who bought once gets a modest, finite
prediction); the closed form agrees with a direct integration; and the value quadrants."""

from __future__ import annotations

import math

import numpy as np
import pytest

from loyalty.domain.clv import (
    PurchaseModel,
    SpendModel,
    ValueModel,
    fit,
    fit_purchases,
    fit_spend,
    high_threshold,
    quadrant,
)

TRUE_PURCHASES = PurchaseModel(r=0.5, alpha=20.0, a=0.8, b=2.5)  # rates per day
TRUE_SPEND = SpendModel(p=6.0, q=4.0, gamma=15.0)


def simulate_purchases(model: PurchaseModel, ages: np.ndarray,
                       rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """BG/NBD histories: each member buys at their own rate and, after each purchase, leaves
    for good with their own probability; x repeat purchases, the last at t_x."""
    rates = rng.gamma(model.r, 1 / model.alpha, ages.size)
    leave = rng.beta(model.a, model.b, ages.size)
    x = np.zeros(ages.size)
    t_x = np.zeros(ages.size)
    for i in range(ages.size):
        at = 0.0
        while True:
            at += rng.exponential(1 / rates[i])
            if at > ages[i]:
                break
            x[i] += 1
            t_x[i] = at
            if rng.random() < leave[i]:
                break
    return x, t_x


def simulate_spend(model: SpendModel, purchases: np.ndarray,
                   rng: np.random.Generator) -> np.ndarray:
    """Gamma-Gamma averages: each member's purchases vary around their own mean."""
    nu = rng.gamma(model.q, 1 / model.gamma, purchases.size)
    return np.array([rng.gamma(model.p, 1 / nu[i], int(n)).mean()
                     for i, n in enumerate(purchases)])


@pytest.fixture(scope="module")
def histories() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    ages = rng.uniform(200, 700, 6000)
    x, t_x = simulate_purchases(TRUE_PURCHASES, ages, rng)
    return x, t_x, ages


def test_the_purchase_model_finds_the_parameters_members_were_simulated_with(
    histories: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    found = fit_purchases(*histories)
    for name in ("r", "alpha", "a", "b"):
        wanted, got = getattr(TRUE_PURCHASES, name), getattr(found, name)
        assert got == pytest.approx(wanted, rel=0.2), name
    # the mean purchase rate r / alpha, what matters most for the value, within 5%
    assert found.r / found.alpha == pytest.approx(TRUE_PURCHASES.r / TRUE_PURCHASES.alpha,
                                                  rel=0.05)


def test_the_fit_is_better_than_the_parameters_it_started_from(
    histories: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    found = fit_purchases(*histories)
    start = PurchaseModel(1.0, 20.0, 1.0, 1.0)
    assert found.log_likelihood(*histories).sum() > start.log_likelihood(*histories).sum()
    assert found.log_likelihood(*histories).sum() >= \
        TRUE_PURCHASES.log_likelihood(*histories).sum() - 1.0


def test_the_spend_model_finds_the_average_purchase_and_its_parameters() -> None:
    rng = np.random.default_rng(3)
    purchases = rng.integers(1, 10, 20000).astype(float)
    average = simulate_spend(TRUE_SPEND, purchases, rng)
    found = fit_spend(purchases, average)
    assert found.mean == pytest.approx(TRUE_SPEND.mean, rel=0.05)  # 30 a purchase
    assert found.q == pytest.approx(TRUE_SPEND.q, rel=0.2)
    assert found.p == pytest.approx(TRUE_SPEND.p, rel=0.3)
    assert found.gamma == pytest.approx(TRUE_SPEND.gamma, rel=0.3)


def test_the_predicted_purchases_add_up_to_what_simulated_members_then_buy() -> None:
    """Members simulated over a calibration period and the year after: the purchases the
    fitted model predicts for the year after, summed, are within 10% of those made."""
    rng = np.random.default_rng(11)
    members = 6000
    rates = rng.gamma(TRUE_PURCHASES.r, 1 / TRUE_PURCHASES.alpha, members)
    leave = rng.beta(TRUE_PURCHASES.a, TRUE_PURCHASES.b, members)
    ages = rng.uniform(100, 500, members)
    x, t_x, after = np.zeros(members), np.zeros(members), np.zeros(members)
    for i in range(members):
        at = 0.0
        while True:
            at += rng.exponential(1 / rates[i])
            if at > ages[i] + 365:
                break
            if at > ages[i]:
                after[i] += 1
            else:
                x[i] += 1
                t_x[i] = at
            if rng.random() < leave[i]:
                break
    model = fit_purchases(x, t_x, ages)
    predicted = model.expected_purchases(365, x, t_x, ages)
    assert predicted.sum() == pytest.approx(after.sum(), rel=0.1)
    assert np.corrcoef(predicted, after)[0, 1] > 0.6


def test_a_long_silence_lowers_the_chance_a_member_still_buys() -> None:
    model = TRUE_PURCHASES
    last_seen = np.array([400.0, 300.0, 200.0, 100.0, 10.0])  # days after the first purchase
    alive = model.p_alive(np.full(5, 6.0), last_seen, np.full(5, 400.0))
    # bought just now: gone only if they decided to leave after this very purchase
    assert alive[0] == pytest.approx(1 / (1 + model.a / (model.b + 6.0 - 1)))
    assert all(np.diff(alive) < 0)  # the longer ago the last purchase, the less likely
    assert alive[-1] < 0.05
    expected = model.expected_purchases(365, np.full(5, 6.0), last_seen, np.full(5, 400.0))
    assert all(np.diff(expected) < 0)


def test_a_member_who_bought_once_gets_a_modest_prediction_that_fades_with_time() -> None:
    model = TRUE_PURCHASES
    ages = np.array([1.0, 30.0, 365.0, 1500.0])
    once = model.expected_purchases(365, np.zeros(4), np.zeros(4), ages)
    assert np.all(np.isfinite(once)) and np.all(once > 0)
    assert all(np.diff(once) < 0)  # the longer since that one purchase, the less expected
    # never more than the average member would buy in a year, at the programme's mean rate
    assert once[0] <= 365 * model.r / model.alpha
    assert model.p_alive([0.0], [0.0], [1500.0])[0] == 1.0  # taken to be still there
    regular = model.expected_purchases(365, [12.0], [360.0], [365.0])[0]
    assert regular > 3 * once[2]
    spend = SpendModel(6.0, 4.0, 15.0)
    assert spend.expected_spend([1.0], [1000.0])[0] == pytest.approx(
        (15.0 + 1000.0) * 6.0 / (6.0 + 3.0))  # mostly their own, some of the mean 30
    assert spend.expected_spend([0.0], [0.0])[0] == pytest.approx(spend.mean)


@pytest.mark.parametrize("params", [(0.5, 20.0, 0.8, 2.5), (2.0, 50.0, 1.5, 3.0),
                                    (0.3, 5.0, 0.5, 0.4), (1.0, 10.0, 1.0005, 2.0),
                                    (1.0, 10.0, 1.0 + 3e-7, 2.0), (1.0, 10.0, 1.0, 2.0),
                                    (0.7, 30.0, 0.4, 0.6), (0.7, 30.0, 0.4, 0.6 + 1e-9),
                                    (150.0, 5000.0, 0.03, 4.0)])
def test_the_closed_form_agrees_with_a_direct_integration(
    params: tuple[float, float, float, float],
) -> None:
    model = PurchaseModel(*params)
    x = np.array([0.0, 0.0, 1.0, 5.0, 20.0, 300.0])
    ages = np.array([0.01, 400.0, 300.0, 400.0, 400.0, 2000.0])
    closed = model._purchases_if_alive(365, x, ages)
    direct = np.array([model._integrated(365, float(n), float(age))
                       for n, age in zip(x, ages, strict=True)])
    assert np.all(np.isfinite(closed))
    assert closed == pytest.approx(direct, rel=1e-6)


def test_fitting_a_handful_of_members_stays_finite() -> None:
    model = fit([0.0, 0.0, 3.0], [0.0, 0.0, 40.0], [10.0, 50.0, 60.0], [100.0, 0.0, 250.0])
    assert all(math.isfinite(v) and v > 0 for v in model.parameters().values())
    assert model.spend.q > 1
    potential = model.potential(365, [0.0, 3.0], [0.0, 40.0], [10.0, 60.0], [100.0, 250.0])
    assert np.all(np.isfinite(potential)) and np.all(potential >= 0)
    assert ValueModel.from_parameters(model.parameters()) == model


def test_nothing_to_fit_is_refused() -> None:
    with pytest.raises(ValueError, match="at least one member"):
        fit_purchases([], [], [])
    with pytest.raises(ValueError, match="positive average"):
        fit_spend([1.0], [0.0])
    with pytest.raises(ValueError, match="t_x <= age"):
        fit_purchases([1.0], [20.0], [10.0])


def test_the_top_percent_threshold_counts_only_values_above_zero() -> None:
    assert high_threshold([0, 0, 0], 20) is None
    assert high_threshold([10, 9, 8, 7, 6, 5, 4, 3, 2, 1], 20) == 9.0
    assert high_threshold([10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 0, 0, 0], 20) == 9.0
    assert high_threshold([5.0, 5.0, 5.0, 1.0], 20) == 5.0  # ties at the rank are all in
    assert high_threshold([3.0], 1) == 3.0


def test_the_quadrants() -> None:
    assert quadrant(True, True) == "keep"
    assert quadrant(False, True) == "grow"
    assert quadrant(True, False) == "maintain"
    assert quadrant(False, False) == "reduce_cost"


@pytest.mark.parametrize("params", [(1.0, 10.0, 1.0, 2.0), (0.7, 30.0, 0.4, 0.6)])
def test_where_the_closed_form_divides_by_zero_it_is_still_read_for_all_members_at_once(
    params: tuple[float, float, float, float], monkeypatch: pytest.MonkeyPatch
) -> None:
    """a = 1, or a + b = 1 for members who bought once: no member is integrated one by one
    (which would take minutes over a large programme)."""
    model = PurchaseModel(*params)
    expected = model.expected_purchases(365, [0.0, 4.0], [0.0, 100.0], [50.0, 200.0])

    def refuse(*args: object) -> float:
        raise AssertionError("integrated one member at a time")

    monkeypatch.setattr(PurchaseModel, "_integrated", refuse)
    x = np.tile([0.0, 4.0], 5000)
    found = model.expected_purchases(365, x, np.tile([0.0, 100.0], 5000),
                                     np.tile([50.0, 200.0], 5000))
    assert found[:2] == pytest.approx(expected, rel=1e-12)
