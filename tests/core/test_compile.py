"""Compile-time checks (segrule.compile): every rule problem is reported with its file
and line before any data is read; table mapping, filters and status values."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest
import segrule
from segrule import DataError, RuleSetError, SegruleError
from segrule.errors import RuleSetErrors

pytestmark = pytest.mark.usefixtures("no_plugin_autoload")

AS_OF = "2026-11-01"


@pytest.fixture
def small(tb, make_tables) -> dict[str, pl.DataFrame]:
    """Two customers with one paid order each; c3 has none."""
    return make_tables(
        orders=[
            ("c1", tb.days_before(3), 10.0, "paid", "shoes", "app"),
            ("c2", tb.days_before(40), 20.0, "paid", "bags", "web"),
        ],
        customers=[("c1", 1985, "上海", True), ("c2", 1992, "北京", False), ("c3", None, None)],
    )


def compile_error(path: Path, tables: dict[str, pl.DataFrame], **kw) -> SegruleError:
    with pytest.raises(SegruleError) as info:
        segrule.compile(path, tables, as_of=kw.pop("as_of", AS_OF), **kw)
    return info.value


def all_errors(err: SegruleError) -> list[RuleSetError]:
    return list(err.errors) if isinstance(err, RuleSetErrors) else [err]  # type: ignore[list-item]


def assert_at(err: SegruleError, path: Path, lines: set[int]) -> None:
    """The error text names ``path`` at one of ``lines``."""
    found = {int(m) for m in re.findall(re.escape(str(path)) + r":(\d+):\d+", str(err))}
    assert found & lines, f"expected {path} at one of lines {sorted(lines)} in: {err}"


# -- names ---------------------------------------------------------------------------
def test_unknown_dimension_in_a_condition_suggests_and_names_file_and_line(rules, small) -> None:
    path = rules(
        "typo.yaml",
        """
        name: typo
        segments:
          active:
            cases:
              - {when: "order_30d >= 1", label: active}
            default: idle
        """,
    )
    err = compile_error(path, small)
    assert isinstance(err, RuleSetError)
    text = str(err)
    assert "unknown dimension or segment 'order_30d'" in text
    assert "used by 'active'" in text
    assert re.search(r"did you mean '(orders_30d)'", text), text
    assert_at(
        err,
        path,
        {rules.line(path, "active:"), rules.line(path, "cases:"), rules.line(path, "order_30d")},
    )


def test_unknown_output_is_reported(rules, small) -> None:
    path = rules("out.yaml", "outputs: [customer_id, monetary_lifetme]\n")
    err = compile_error(path, small)
    assert "unknown dimension or segment 'monetary_lifetme' (in outputs)" in str(err)
    assert "did you mean 'monetary_lifetime'" in str(err)
    assert_at(err, path, {1})


def test_every_unknown_name_is_reported_at_once(rules, small) -> None:
    path = rules(
        "two_typos.yaml",
        """
        segments:
          a:
            flag: "order_30d > 1"
          b:
            flag: "monetry_365d > 1"
        """,
    )
    err = compile_error(path, small)
    names = {e.detail.split("'")[1] for e in all_errors(err)}
    assert names == {"order_30d", "monetry_365d"}


def test_unknown_strategy_suggests(rules, small) -> None:
    path = rules("strategy.yaml", "scores:\n  s:\n    strategy: point\n")
    err = compile_error(path, small)
    assert "unknown strategy 'point'" in str(err) and "did you mean 'points'" in str(err)
    assert_at(err, path, {2, 3})


def test_use_of_unknown_dimension(rules, small) -> None:
    path = rules("use.yaml", "dimensions:\n  band:\n    use: age_bnd\n")
    err = compile_error(path, small)
    assert "use: unknown dimension 'age_bnd'" in str(err)
    assert "did you mean 'age_band'" in str(err)


def test_sql_syntax_error_is_a_rule_error(rules, small) -> None:
    path = rules("sql.yaml", 'segments:\n  s:\n    flag: "orders_30d >>> 1 AND"\n')
    err = compile_error(path, small)
    assert isinstance(err, RuleSetError)
    assert "cannot parse SQL" in str(err)
    assert_at(err, path, {3})


# -- cycles --------------------------------------------------------------------------
def test_cycle_between_derived_dimensions_names_the_cycle(rules, small) -> None:
    path = rules(
        "cycle.yaml",
        """
        dimensions:
          a:
            expr: "b + 1"
          b:
            expr: "a + 1"
        outputs: [customer_id, a]
        """,
    )
    err = compile_error(path, small)
    cycle = str(err).split("cyclic definition: ", 1)[1]
    assert cycle in ("a -> b -> a", "b -> a -> b")
    assert_at(err, path, {2, 3, 4, 5})


def test_cycle_between_segments_names_the_cycle(rules, small) -> None:
    path = rules(
        "seg_cycle.yaml",
        """
        segments:
          x:
            cases:
              - {when: "y = 'a'", label: a}
            default: b
          y:
            cases:
              - {when: "x = 'a'", label: a}
            default: b
        """,
    )
    err = compile_error(path, small)
    cycle = str(err).split("cyclic definition: ", 1)[1]
    assert cycle in ("x -> y -> x", "y -> x -> y")


def test_self_reference_is_a_cycle(rules, small) -> None:
    path = rules("self.yaml", 'dimensions:\n  a:\n    expr: "a + 1"\n')
    err = compile_error(path, small)
    assert "cyclic definition: a -> a" in str(err)


# -- types ---------------------------------------------------------------------------
def test_condition_that_is_not_boolean(rules, small) -> None:
    path = rules(
        "not_bool.yaml",
        """
        segments:
          s:
            cases:
              - {when: "orders_30d >= 1", label: a}
              - {when: "orders_30d + 1", label: b}
            default: c
        """,
    )
    err = compile_error(path, small)
    problems = [e for e in all_errors(err) if "not true/false" in str(e)]
    assert problems, str(err)
    assert "condition for 'b' is Int64" in str(problems[0])
    assert problems[0].where is not None
    assert problems[0].where.startswith(f"{path}:{rules.line(path, 'orders_30d + 1')}:")


def test_flag_that_is_not_boolean(rules, small) -> None:
    path = rules("flag.yaml", 'segments:\n  s:\n    flag: "monetary_lifetime"\n')
    err = compile_error(path, small)
    assert "not true/false" in str(err)
    assert_at(err, path, {3})


def test_string_attribute_compared_to_a_number(rules, small) -> None:
    path = rules(
        "city.yaml",
        """
        segments:
          big_city:
            flag: "city > 3"
        """,
    )
    err = compile_error(path, small)
    assert isinstance(err, RuleSetError)
    assert err.name == "big_city"
    assert "cannot compare string with numeric" in str(err)
    assert_at(err, path, {2, 3})


def test_string_segment_compared_to_a_number(rules, small) -> None:
    path = rules(
        "seg_num.yaml",
        """
        segments:
          size:
            cases:
              - {when: "orders_lifetime > 1", label: big}
            default: small
          odd:
            flag: "size > 3"
        """,
    )
    err = compile_error(path, small)
    assert err.name == "odd"  # type: ignore[attr-defined]
    assert "cannot compare string" in str(err)
    assert_at(err, path, {rules.line(path, "odd:"), rules.line(path, "size > 3")})


def test_type_error_inside_an_aggregate(rules, small) -> None:
    path = rules(
        "agg_type.yaml",
        """
        dimensions:
          weird:
            aggregate: "sum(category)"
        """,
    )
    err = compile_error(path, small)
    assert err.name == "weird"  # type: ignore[attr-defined]
    assert "type error in aggregate over orders" in str(err)


@pytest.mark.parametrize(
    "params, what",
    [
        (
            "parts: [{dimension: orders_lifetime, bins: "
            "[{min: 1, points: 1}, {min: 3, points: 2}]}]",
            "parts[0].bins thresholds [1, 3] are not in order",
        ),
        (
            "parts: [{dimension: orders_lifetime, bins: "
            "[{min: 3, points: 2}, {min: 3, points: 1}]}]",
            "parts[0].bins thresholds [3, 3] are not in order",
        ),
        (
            "parts: [{dimension: orders_lifetime, points: {}}]\n      tiers: [{label: a, min: 1}, "
            "{label: b, min: 5}]",
            "tiers thresholds [1, 5] are not in order",
        ),
    ],
)
def test_points_thresholds_out_of_order(rules, small, params: str, what: str) -> None:
    path = rules(
        "bins.yaml", f"scores:\n  pts:\n    strategy: points\n    params:\n      {params}\n"
    )
    err = compile_error(path, small)
    assert what in str(err)
    first = all_errors(err)[0]
    assert first.name == "pts"
    assert_at(first, path, {2, 3})


def test_quantile_tiers_out_of_order(rules, small) -> None:
    path = rules(
        "q.yaml",
        """
        scores:
          value:
            strategy: quantile
            params:
              dimension: monetary_lifetime
              tiers: [{label: mid, top: 0.5}, {label: high, top: 0.2}]
        """,
    )
    err = compile_error(path, small)
    assert "'top' shares [0.5, 0.2] are not in order" in str(err)


def test_unknown_strategy_parameter_suggests(rules, small) -> None:
    path = rules(
        "param.yaml",
        """
        scores:
          key:
            strategy: pareto
            params: {shares: 0.5}
        """,
    )
    err = compile_error(path, small)
    assert "unknown parameter 'shares'" in str(err) and "did you mean 'share'" in str(err)


def test_bad_window_is_reported_at_the_window(rules, small) -> None:
    path = rules(
        "window.yaml",
        """
        dimensions:
          recent:
            aggregate: "count(*)"
            window: 30days
        """,
    )
    err = compile_error(path, small)
    assert "window '30days' is not understood" in str(err)
    assert_at(err, path, {rules.line(path, "window:")})


# -- tables and columns --------------------------------------------------------------
def test_missing_table_names_the_table_and_who_needs_it(rules, small) -> None:
    path = rules("events.yaml", 'segments:\n  engaged:\n    flag: "events_campaign_30d > 0"\n')
    err = compile_error(path, {"orders": small["orders"]})
    assert isinstance(err, DataError)
    assert "table 'events' is needed (by events_campaign_30d)" in str(err)


def test_missing_column_names_the_column_and_the_dimension(rules, small) -> None:
    path = rules(
        "cats.yaml",
        """
        dimensions:
          n_categories:
            aggregate: "count(DISTINCT category)"
        """,
    )
    err = compile_error(path, {"orders": small["orders"].drop("category")})
    assert isinstance(err, DataError)
    assert "no column 'category' (needed by n_categories)" in str(err)
    assert "tables.orders.columns.category" in str(err)


def test_missing_builtin_column_names_the_builtin_dimension(rules, small) -> None:
    path = rules("status.yaml", 'segments:\n  s:\n    flag: "orders_30d > 0"\n')
    err = compile_error(path, {"orders": small["orders"].drop("status")})
    assert "no column 'status' (needed by orders_30d)" in str(err)


def test_column_map(rules, tb) -> None:
    orders = tb.orders(
        [
            ("c1", tb.days_before(3), 10.0),
            ("c1", tb.days_before(50), 5.0),
            ("c2", tb.days_before(10), 7.0),
        ]
    ).rename({"order_ts": "pay_time", "customer_id": "buyer"})
    path = rules(
        "map.yaml",
        """
        tables:
          orders:
            columns: {order_ts: pay_time, customer_id: buyer}
        outputs: [customer_id, orders_30d, orders_lifetime, last_order_ts]
        """,
    )
    df = segrule.score(path, {"orders": orders}, as_of=AS_OF)
    assert df["customer_id"].to_list() == ["c1", "c2"]
    assert df["orders_30d"].to_list() == [1, 1]
    assert df["orders_lifetime"].to_list() == [2, 1]
    assert df["last_order_ts"].dt.replace_time_zone(None).to_list() == [
        tb.days_before(3),
        tb.days_before(10),
    ]


def test_column_map_to_a_missing_column(rules, small) -> None:
    path = rules(
        "map_bad.yaml",
        """
        tables:
          orders:
            columns: {order_ts: pay_tme}
        outputs: [customer_id, orders_30d]
        """,
    )
    err = compile_error(path, small)
    assert isinstance(err, DataError)
    assert "column 'pay_tme' (mapped to orders.order_ts" in str(err)
    assert_at(err, path, {3})


def test_column_map_replaces_a_column_of_the_contract_name(rules, tb) -> None:
    """Mapping order_ts onto pay_time drops the data's own (other) order_ts column."""
    orders = tb.orders([("c1", tb.days_before(3), 10.0)]).with_columns(
        pay_time=pl.lit(tb.days_before(100))
    )
    path = rules(
        "map_clash.yaml",
        """
        tables:
          orders:
            columns: {order_ts: pay_time}
        outputs: [customer_id, orders_30d, orders_lifetime]
        """,
    )
    df = segrule.score(path, {"orders": orders}, as_of=AS_OF)
    assert df.row(0) == ("c1", 0, 1)


def test_table_where_filter(rules, tb) -> None:
    orders = tb.orders(
        [
            ("c1", tb.days_before(3), 10.0, "paid", "shoes", "app"),
            ("c1", tb.days_before(4), 99.0, "paid", "shoes", "test"),
            ("c2", tb.days_before(5), 1.0, "paid", "shoes", "test"),
        ]
    )
    path = rules(
        "where.yaml",
        """
        tables:
          orders:
            where: "channel <> 'test'"
        outputs: [customer_id, orders_lifetime, monetary_lifetime]
        """,
    )
    df = segrule.score(path, {"orders": orders}, as_of=AS_OF)
    # c2 only has test orders: without a customers table it is not in the universe.
    assert df.rows() == [("c1", 1, 10.0)]


def test_table_where_on_unknown_column(rules, small) -> None:
    path = rules(
        "where_bad.yaml",
        """
        tables:
          orders:
            where: "chanel <> 'test'"
        outputs: [customer_id, orders_lifetime]
        """,
    )
    err = compile_error(path, small)
    assert "where refers to column 'chanel'" in str(err) and "did you mean 'channel'" in str(err)
    assert_at(err, path, {3})


def test_status_values_mapping(rules, tb) -> None:
    orders = tb.orders(
        [
            ("c1", tb.days_before(1), 10.0, "PAID"),
            ("c1", tb.days_before(2), 20.0, "done"),
            ("c1", tb.days_before(3), 40.0, "RETURNED"),
            ("c1", tb.days_before(4), 80.0, "WAITING"),
            ("c1", tb.days_before(5), 160.0, "paid"),
        ]
    )
    path = rules(
        "status.yaml",
        """
        tables:
          orders:
            status_values:
              paid: [PAID, done]
              refunded: [RETURNED]
        outputs: [customer_id, orders_lifetime, monetary_lifetime, refunded_orders_lifetime,
                  pending_orders_lifetime]
        """,
    )
    df = segrule.score(path, {"orders": orders}, as_of=AS_OF)
    # "paid" itself is not in the list but is already the contract value, so it stays paid.
    assert df.row(0) == ("c1", 3, 190.0, 1, 0)


# -- as-of and time zone ------------------------------------------------------------
@pytest.mark.parametrize("as_of", ["yesterday", "2026-13-01", "01/11/2026"])
def test_unparsable_as_of(rules, small, as_of: str) -> None:
    path = rules("asof.yaml", "outputs: [customer_id, orders_30d]\n")
    err = compile_error(path, small, as_of=as_of)
    assert f"as-of '{as_of}' is not a date or time" in str(err)


def test_unknown_time_zone(rules, small) -> None:
    path = rules("tz.yaml", "outputs: [customer_id, orders_30d]\n")
    err = compile_error(path, small, tz="Mars/Olympus_Mons")
    assert "unknown time zone 'Mars/Olympus_Mons'" in str(err)


def test_unknown_time_zone_in_the_rule_set(rules, small) -> None:
    path = rules("tz_rs.yaml", "timezone: Asia/Shanghia\noutputs: [customer_id, orders_30d]\n")
    err = compile_error(path, small)
    assert "unknown time zone 'Asia/Shanghia'" in str(err)


# -- nothing is read at compile time -----------------------------------------------
def test_compile_reads_schemas_only(rules, tb) -> None:
    """A source that fails when executed still compiles; the failure shows at the run."""
    bad = (
        tb.orders([("c1", tb.days_before(3), 10.0)])
        .lazy()
        .with_columns(pl.lit("not a number").alias("amount"))
        .with_columns(pl.col("amount").cast(pl.Float64, strict=True))
    )
    path = rules("lazy.yaml", "outputs: [customer_id, monetary_lifetime]\n")
    plan = segrule.compile(path, {"orders": bad}, as_of=AS_OF)
    assert plan.outputs == ["customer_id", "monetary_lifetime"]
    with pytest.raises(SegruleError, match="the run failed while reading data"):
        segrule.collect(plan.frame)


def test_rule_errors_come_before_data_errors(rules, tb) -> None:
    """A rule set with an unknown name fails on the name even when a table is missing."""
    path = rules("both.yaml", 'segments:\n  s:\n    flag: "evnts_30d > 0"\n')
    err = compile_error(path, {})
    assert isinstance(err, RuleSetError)
    assert "'evnts_30d'" in str(err)


def test_unused_definitions_are_checked_too(rules, small) -> None:
    path = rules(
        "unused.yaml",
        """
        segments:
          used:
            flag: "orders_30d > 0"
          unused:
            flag: "order_30d > 0"
        outputs: [customer_id, used]
        """,
    )
    err = compile_error(path, small)
    assert "'order_30d'" in str(err) and "used by 'unused'" in str(err)


def test_check_only_compiles_against_the_contracts(rules) -> None:
    ok = rules(
        "ok.yaml", "segments:\n  s:\n    flag: \"events_campaign_30d > 0 AND city = '上海'\"\n"
    )
    plan = segrule.compile(ok, {}, as_of=AS_OF, check_only=True)
    assert plan.outputs == ["customer_id", "s"]
    bad = rules("bad.yaml", "segments:\n  s:\n    flag: \"birth_year = '1990' AND city > 3\"\n")
    with pytest.raises(RuleSetError, match="cannot compare string with numeric"):
        segrule.compile(bad, {}, as_of=AS_OF, check_only=True)
