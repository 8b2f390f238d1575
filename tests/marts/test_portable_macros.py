"""The portability macros give the answer Spark's functions give, on DuckDB (dbt_project/macros/portability.sql)."""

from __future__ import annotations

from dbt_show import dbt_show

# (value, ordering): the smallest ordering's value is null, the largest's is 'c',
# and a null ordering (which both engines skip) carries a value of its own.
ROWS = "(values ('x', null), (null, 1), ('b', 2), ('c', 3), ('y', null)) as t(v, k)"


def test_value_at_min_and_max_keep_a_null_value_and_skip_null_orderings(tmp_path):
    """Spark's min_by/max_by return the chosen row's value even when it is null; DuckDB's plain
    arg_min/arg_max would skip that row and answer with the next row's value."""
    sql = (
        "select {{ value_at_min('v', 'k') }} as at_min, {{ value_at_max('v', 'k') }} as at_max, "
        "{{ value_at_min('v', 'k') }} filter (where v is not null) as first_named "
        f"from {ROWS}"
    )
    (row,) = dbt_show(tmp_path, sql)
    assert row == {"at_min": None, "at_max": "c", "first_named": "b"}


def test_value_at_min_with_an_ordering_key_breaks_ties_in_turn(tmp_path):
    sql = (
        "select {{ value_at_min('v', ordering_key(['k', 'v2'])) }} as at_min "
        "from (values ('late', 1, 2), ('early', 1, 1), ('later', 2, 0)) as t(v, k, v2)"
    )
    (row,) = dbt_show(tmp_path, sql)
    assert row == {"at_min": "early"}
