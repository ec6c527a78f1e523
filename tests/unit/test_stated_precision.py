"""Every float tabpipe writes is held at the stated precision, the same on every CPU."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tabpipe.records.evaluation import GateResult, WorstPrediction
from tabpipe.repositories import drift_report
from tabpipe.repositories.drift_report import stable_data
from tabpipe.repositories.plots import write_plots
from tabpipe.utils.atomic import write_json_atomic
from tabpipe.utils.numbers import (
    SIGNIFICANT_DIGITS,
    overprecise_literals,
    significant_digits,
    stable,
    stable_literals,
    stable_tree,
)
from tests.fixtures.other_machine import install, moved

finite = st.floats(allow_nan=False, allow_infinity=False, min_value=-1e300, max_value=1e300)


@given(finite)
def test_a_stable_float_is_written_in_at_most_the_stated_digits(value: float) -> None:
    assert significant_digits(repr(stable(value))) <= SIGNIFICANT_DIGITS


@given(finite)
def test_rounding_twice_changes_nothing(value: float) -> None:
    assert stable(stable(value)) == stable(value)


@given(finite)
def test_a_stable_float_is_within_half_a_unit_of_its_last_digit(value: float) -> None:
    assert math.isclose(stable(value), value, rel_tol=6e-8, abs_tol=1e-300)


@given(finite, finite)
def test_rounding_keeps_the_order_of_two_values(a: float, b: float) -> None:
    low, high = sorted((a, b))
    assert stable(low) <= stable(high)


@given(finite)
def test_a_few_ulps_never_change_a_short_decimal(value: float) -> None:
    short = stable(value)  # a value that is exactly on, or next to, a rounding boundary
    assert stable(moved(short)) == short


@pytest.mark.parametrize("halfway", [1300.84375, 0.123456785, 2.5e-9 + 0.125, 7.0000000500])
def test_a_halfway_value_rounds_the_same_way_whatever_its_last_bits(halfway: float) -> None:
    below, above = math.nextafter(halfway, -math.inf), math.nextafter(halfway, math.inf)
    assert stable(below) == stable(halfway) == stable(above)


def test_nan_inf_and_negative_zero() -> None:
    assert math.isnan(stable(math.nan))
    assert stable(math.inf) == math.inf
    assert repr(stable(-0.0)) == "0.0"


def test_nested_floats_are_rounded_and_integers_and_booleans_kept() -> None:
    tree = {"a": [0.1 + 0.2, (1 / 3, 7)], "b": True, "c": 10**20, "d": "0.30000000000000004"}
    assert stable_tree(tree) == {
        "a": [0.3, (0.33333333, 7)], "b": True, "c": 10**20, "d": "0.30000000000000004"
    }  # fmt: skip


def test_only_literals_beyond_the_stated_precision_are_rewritten() -> None:
    text = 'x = [0.30000000000000004, 1.5, 12345678901234, 2.718281828459045e-05, "a1.23456789"]'
    assert stable_literals(text) == 'x = [0.3, 1.5, 12345678901234, 2.7182818e-05, "a1.23456789"]'
    assert overprecise_literals(text) == ["0.30000000000000004", "2.718281828459045e-05"]


def test_a_measured_record_holds_its_floats_at_the_stated_precision() -> None:
    gate = GateResult(
        name="roc_auc >= 0.8", kind="min", metric="roc_auc", value=0.9324401437576918,
        bound=0.8, passed=True, low=0.9200000000000001, high=None,
    )  # fmt: skip
    assert (gate.value, gate.low) == (0.93244014, 0.92)
    assert '"value":0.93244014' in gate.model_dump_json()


def test_values_of_the_data_are_kept_as_they_were_read() -> None:
    worst = WorstPrediction(
        row=3, actual=0.1234567890123, predicted=0.5000000000001, score=0.5000000000001,
        loss=1 / 3, features={"age": 38.123456789012, "job": "clerk"},
    )  # fmt: skip
    assert worst.actual == 0.1234567890123
    assert worst.features["age"] == 38.123456789012
    assert (worst.predicted, worst.loss) == (0.5, 0.33333333)


def test_json_outputs_are_written_at_the_stated_precision(tmp_path: Path) -> None:
    target = tmp_path / "roc.json"
    write_json_atomic(target, {"roc": [{"fpr": 0.1 + 0.2, "tpr": 2 / 3, "n": 3}]})
    text = target.read_text(encoding="utf-8")
    assert overprecise_literals(text) == []
    assert json.loads(text) == {"roc": [{"fpr": 0.3, "tpr": 0.66666667, "n": 3}]}


def test_a_drift_page_has_only_its_data_rounded() -> None:
    page = (
        "<script>function f(){return 0.30000000000000004}</script>"
        '<script>\n  var metric_1 = {"share": 0.33333333333333331}</script>'
    )
    rounded = stable_data(page)
    assert "return 0.30000000000000004" in rounded  # Evidently's code: not data
    assert '"share": 0.33333333' in rounded
    assert "0.33333333333333331" not in rounded


def test_the_same_record_on_another_machine_has_the_same_bytes(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def written() -> str:
        return GateResult(
            name="log_loss <= 0.5", kind="max", metric="log_loss", value=0.27090407634398866,
            bound=0.5, passed=True, low=0.2609040763439886, high=1300.84375,
        ).model_dump_json()  # fmt: skip

    here = written()
    install(monkeypatch.setattr)
    assert written() == here


def test_plots_and_drift_data_have_the_same_bytes_on_another_machine(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    curves = {"roc": [{"fpr": 0.1 + 0.2, "tpr": 2 / 3}, {"fpr": 1300.84375, "tpr": 1.0}]}
    page = '<script>\n var metric_1 = {"share": 0.3333333333333333, "m": 1300.84375}</script>'
    write_plots(curves, tmp_path / "here")
    here = stable_data(drift_report.canonical_ids(page))

    install(monkeypatch.setattr)
    write_plots(curves, tmp_path / "there")
    there = stable_data(drift_report.canonical_ids(page))

    assert (tmp_path / "here/roc.json").read_bytes() == (tmp_path / "there/roc.json").read_bytes()
    assert there == here
