"""Settings are checked when they are read: every value that cannot be used is named on a line
of its own, whatever the field, including fields declared later without bounds."""

from __future__ import annotations

from dataclasses import fields

import pytest

from loyalty.config import Bounds, Settings, SettingsInvalid, unknown_variables, variable


def problems(**env: str) -> list[str]:
    with pytest.raises(SettingsInvalid) as raised:
        Settings.from_env({variable(name): value for name, value in env.items()})
    return raised.value.problems


def test_every_bad_value_is_named_on_a_line_of_its_own() -> None:
    assert sorted(problems(db_pool_size="five", key_cache_seconds="-1", log_level="loud",
                           database_url="loyalty.db", default_region="XX")) == [
        "LOYALTY_DATABASE_URL='loyalty.db': not a database URL (e.g. sqlite:///loyalty.db or "
        "postgresql+psycopg://user@host/db)",
        "LOYALTY_DB_POOL_SIZE='five': not a whole number",
        "LOYALTY_DEFAULT_REGION='XX': not a two-letter country code known for phone numbers "
        "(e.g. CN, DE, US)",
        "LOYALTY_KEY_CACHE_SECONDS=-1: less than the minimum 0",
        "LOYALTY_LOG_LEVEL='loud': not one of DEBUG, INFO, WARNING, ERROR, CRITICAL",
    ]


@pytest.mark.parametrize("raw", ["nan", "inf", "-inf", "NaN"])
def test_no_number_setting_takes_nan_or_infinity(raw: str) -> None:
    assert problems(rules_refresh_seconds=raw) == [
        f"LOYALTY_RULES_REFRESH_SECONDS={float(raw):g}: not a finite number"]


def numeric_fields() -> list[str]:
    return [item.name for item in fields(Settings)
            if type(item.default) in {int, float}]


@pytest.mark.parametrize("name", numeric_fields())
def test_every_number_setting_refuses_values_outside_its_bounds(name: str) -> None:
    item = next(item for item in fields(Settings) if item.name == name)
    bounds: Bounds = item.metadata.get("bounds", Bounds())
    low = 0 if bounds.low is None else bounds.low
    assert problems(**{name: str(low - 1)}) == [
        f"{variable(name)}={low - 1:g}: less than the minimum {low:g}"]
    if bounds.high is not None:
        assert problems(**{name: str(bounds.high + 1)}) == [
            f"{variable(name)}={bounds.high + 1:g}: more than the maximum {bounds.high:g}"]
    Settings.from_env({variable(name): str(item.default)})  # the default passes its own check


def test_a_number_setting_declared_without_bounds_may_not_be_negative() -> None:
    unbounded = [name for name in numeric_fields()
                 if "bounds" not in next(i for i in fields(Settings) if i.name == name).metadata]
    for name in unbounded:
        assert problems(**{name: "-1"})[0].endswith("less than the minimum 0")


@pytest.mark.parametrize(("raw", "value"), [("true", True), ("Yes", True), ("1", True),
                                            ("on", True), ("false", False), ("NO", False),
                                            ("0", False), ("off", False)])
def test_switches_take_the_usual_words(raw: str, value: bool) -> None:
    assert Settings.from_env({"LOYALTY_AUTO_MIGRATE": raw}).auto_migrate is value


def test_a_switch_refuses_any_other_word() -> None:
    assert problems(auto_migrate="maybe") == [
        "LOYALTY_AUTO_MIGRATE='maybe': not true or false (true/false, yes/no, on/off, 1/0)"]


def test_values_given_in_code_are_checked_too() -> None:
    with pytest.raises(SettingsInvalid) as raised:
        Settings.from_env({}, db_pool_size=0, page_size=5000)
    assert raised.value.problems == ["LOYALTY_DB_POOL_SIZE=0: less than the minimum 1",
                                     "LOYALTY_PAGE_SIZE=5000: more than the maximum 1000"]
    with pytest.raises(SettingsInvalid):
        Settings(serve_timeout=0)


def test_the_log_level_is_read_in_any_case() -> None:
    assert Settings.from_env({"LOYALTY_LOG_LEVEL": "debug"}).log_level == "debug"


def test_a_mistyped_variable_is_warned_about_with_the_likely_setting() -> None:
    assert unknown_variables({"LOYALTY_DATABSE_URL": "x", "LOYALTY_COLOUR": "3", "PATH": "/bin",
                              "LOYALTY_DB_POOL_SIZE": "3"}) == [
        "LOYALTY_COLOUR is not a setting and is ignored",
        "LOYALTY_DATABSE_URL is not a setting and is ignored; did you mean "
        "LOYALTY_DATABASE_URL?",
    ]


def test_the_test_suites_own_variables_are_not_warned_about() -> None:
    assert unknown_variables({"LOYALTY_TEST_DATABASE_URL": "x", "LOYALTY_RELIABILITY_LOG": "y",
                              "LOYALTY_MUTATION_SAMPLE": "3"}) == []
