{#-
  The incremental window of the call-level fact, from the run's window
  (run_window() below: min_date, max_date, inclusive UTC dates) and the var
  lookback_days (days re-processed before min_date for late data). Returns a
  SQL predicate on a timestamp column, written as plain comparisons with
  constants so that the engine can push it into the raw table scan (zone maps
  skip the days outside).

  - no window on an incremental run: from lookback_days before the newest
    day already in the target, to the end;
  - full refresh / first run: everything (true), so a rebuild equals the sum
    of incremental runs.

  `margin_days` widens the window on both sides, for models that must read
  the neighbours of the rows in the window (the other spans of a trace that
  crosses midnight).
-#}
{% macro partition_window_predicate(timestamp_column, date_column='call_date', margin_days=0) -%}
    {%- set window = run_window() -%}
    {%- set min_date = window.min_date -%}
    {%- set max_date = window.max_date -%}
    {%- set lookback = var('lookback_days', 2) | int -%}
    {%- if not is_incremental() -%}
        true
    {%- else -%}
        {%- if not min_date and execute -%}
            {%- set newest = run_query('select cast(max(' ~ date_column ~ ') as string) from ' ~ this).columns[0].values()[0] -%}
            {%- set min_date = newest or '1970-01-01' -%}
        {%- endif -%}
        {{ window_bounds_predicate(timestamp_column, min_date, max_date, lookback + margin_days, margin_days) }}
    {%- endif -%}
{%- endmacro %}

{#-
  The run's partition window: {'min_date': ..., 'max_date': ...}, inclusive
  UTC dates as 'YYYY-MM-DD' strings, either one none when unbounded.

  Explicit vars win: a person (or the docs) runs
  `dbt build --vars '{min_date: 2026-01-01, max_date: 2026-01-31}'`; when
  either var is set, the window is the two vars. Otherwise it comes from the
  environment variables AGENTLEDGER_WINDOW_MIN_DATE and
  AGENTLEDGER_WINDOW_MAX_DATE (empty or unset: no bound), which is how
  Dagster passes a partition's days (orchestration/defs/warehouse/assets.py).

  Why environment variables, and why read only when `execute` is true: dbt
  re-parses the whole project whenever --vars differ from its last parse
  (about 6.6 s here, against 2.9 s for a partial parse, in each of a run's
  dbt invocations), and a daily run's window differs every day. Partial
  parsing tracks env_var() per file, but only the calls made while parsing
  (`execute` is false then); read at execution only, the window leaves no
  parse-time dependency, so a new window costs nothing to parse. While
  parsing this returns the vars alone; nothing is compiled then anyway.
-#}
{% macro run_window() -%}
    {%- set from_vars = var('min_date', none) or var('max_date', none) -%}
    {%- if from_vars -%}
        {%- set names = {'min_date': 'var min_date', 'max_date': 'var max_date'} -%}
        {%- set values = {'min_date': var('min_date', none), 'max_date': var('max_date', none)} -%}
    {%- elif execute -%}
        {%- set names = {'min_date': 'AGENTLEDGER_WINDOW_MIN_DATE', 'max_date': 'AGENTLEDGER_WINDOW_MAX_DATE'} -%}
        {%- set values = {'min_date': env_var(names.min_date, ''), 'max_date': env_var(names.max_date, '')} -%}
    {%- else -%}
        {%- do return({'min_date': none, 'max_date': none}) -%}
    {%- endif -%}
    {%- set window = {} -%}
    {%- for bound in ['min_date', 'max_date'] -%}
        {#- YAML reads an unquoted 2026-01-01 in --vars as a date: compare its text. -#}
        {%- set value = (values[bound] | string | trim) if values[bound] is not none else '' -%}
        {%- if value and not modules.re.match('^[0-9]{4}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$', value) -%}
            {{ exceptions.raise_compiler_error(
                names[bound] ~ " is '" ~ value ~ "', not a date as YYYY-MM-DD (an inclusive UTC day of the partition window); "
                ~ "set it to a day such as 2026-01-31, or leave it empty for no bound"
            ) }}
        {%- endif -%}
        {%- do window.update({bound: value or none}) -%}
    {%- endfor -%}
    {%- if window.min_date and window.max_date and window.min_date > window.max_date -%}
        {{ exceptions.raise_compiler_error(
            "The partition window ends before it starts: " ~ names.min_date ~ " is " ~ window.min_date
            ~ ", after " ~ names.max_date ~ " " ~ window.max_date ~ "; give the first day as min_date and the last as max_date"
        ) }}
    {%- endif -%}
    {%- do return(window) -%}
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

{#- The trace-keyed incremental models (fct_traces, int_trace_agents) recompute
    every trace with a span in the window, from all of its spans. A trace's
    spans are looked for up to var `trace_span_days` (default 1) beyond the
    window on either side, so a trace may cross midnight.

    touched_traces(): the body of a CTE listing the traces with a span in the
    window. touched_trace_rows_predicate(): the rows (spans, or calls) of those
    traces, for a relation with started_at and trace_id; `touched_relation`
    names the CTE above. `date_column` is the model's own day column, for
    partition_window_predicate. -#}
{% macro touched_traces(date_column) -%}
    select distinct trace_id
    from {{ ref('stg_raw__trace_spans') }}
    where {{ partition_window_predicate('started_at', date_column) }}
{%- endmacro %}

{% macro touched_trace_rows_predicate(date_column, touched_relation='touched_traces') -%}
    {{ partition_window_predicate('started_at', date_column, margin_days=var('trace_span_days', 1) | int) }}
    {%- if is_incremental() %}
        and trace_id in (select trace_id from {{ touched_relation }})
    {%- endif %}
{%- endmacro %}
