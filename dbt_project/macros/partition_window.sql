{#-
  The incremental window of the call-level fact, from the dbt vars Dagster
  passes (min_date, max_date: inclusive UTC dates; lookback_days re-processed
  before min_date for late data). Returns a SQL predicate on a timestamp
  column, written as plain comparisons with constants so that the engine can
  push it into the raw table scan (zone maps skip the days outside).

  - vars unset on an incremental run: from lookback_days before the newest
    day already in the target, to the end;
  - full refresh / first run: everything (true), so a rebuild equals the sum
    of incremental runs.

  `margin_days` widens the window on both sides, for models that must read
  the neighbours of the rows in the window (the other spans of a trace that
  crosses midnight).
-#}
{% macro partition_window_predicate(timestamp_column, date_column='call_date', margin_days=0) -%}
    {%- set min_date = var('min_date', none) -%}
    {%- set max_date = var('max_date', none) -%}
    {%- set lookback = var('lookback_days', 2) | int -%}
    {%- if not is_incremental() -%}
        true
    {%- else -%}
        {%- if not min_date and execute -%}
            {%- set newest = run_query('select cast(max(' ~ date_column ~ ') as varchar) from ' ~ this).columns[0].values()[0] -%}
            {%- set min_date = newest or '1970-01-01' -%}
        {%- endif -%}
        {{ window_bounds_predicate(timestamp_column, min_date, max_date, lookback + margin_days, margin_days) }}
    {%- endif -%}
{%- endmacro %}

{#- `column` from `days_before` days before min_date up to the end of max_date
    plus `days_after` (no upper bound when max_date is none), as comparisons
    with constants. The one definition of a window's bounds: the incremental
    models above and the windowed data tests (test_window.sql) use it. -#}
{% macro window_bounds_predicate(column, min_date, max_date, days_before, days_after=0) -%}
    {{ column }} >= cast({{ add_days("cast('" ~ min_date ~ "' as date)", -days_before) }} as timestamp)
    {%- if max_date %}
        and {{ column }} < cast({{ add_days("cast('" ~ max_date ~ "' as date)", 1 + days_after) }} as timestamp)
    {%- endif -%}
{%- endmacro %}
