{#- Calendar helpers for dim_dates. dbt's own date_spine needs its bounds at
    compile time (it runs a query while compiling); the marts' bounds come from
    the data, so the series is generated inside the query instead. -#}

{#- One row per day from start_date to end_date inclusive, column `date_day`.
    Both arguments are SQL expressions yielding DATE (scalar subqueries are fine). -#}
{% macro date_series(start_date, end_date) -%}
    {{ return(adapter.dispatch('date_series')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__date_series(start_date, end_date) -%}
    select cast(generated.day_ts as date) as date_day
    from generate_series(
        cast({{ start_date }} as timestamp),
        cast({{ end_date }} as timestamp),
        interval 1 day
    ) as generated(day_ts)
{%- endmacro %}

{#- Portable fallback: offsets 0..99,999 (about 273 years) from a cross join of
    digits, kept while within the range. -#}
{% macro default__date_series(start_date, end_date) -%}
    with digits as (
        select 0 as d union all select 1 union all select 2 union all select 3
        union all select 4 union all select 5 union all select 6 union all select 7
        union all select 8 union all select 9
    ),
    offsets as (
        select a.d + 10 * b.d + 100 * c.d + 1000 * e.d + 10000 * f.d as day_offset
        from digits as a
        cross join digits as b
        cross join digits as c
        cross join digits as e
        cross join digits as f
    )
    select cast({{ dbt.dateadd('day', 'day_offset', start_date) }} as date) as date_day
    from offsets
    where {{ dbt.dateadd('day', 'day_offset', start_date) }} <= {{ end_date }}
{%- endmacro %}

{#- ISO day of week: 1 = Monday ... 7 = Sunday. -#}
{% macro iso_day_of_week(date_expression) -%}
    {{ return(adapter.dispatch('iso_day_of_week')(date_expression)) }}
{%- endmacro %}

{% macro duckdb__iso_day_of_week(date_expression) -%}
    cast(extract(isodow from {{ date_expression }}) as integer)
{%- endmacro %}

{#- 2024-01-01 was a Monday; the double modulo keeps dates before it positive. -#}
{% macro default__iso_day_of_week(date_expression) -%}
    cast(mod(mod({{ dbt.datediff("cast('2024-01-01' as date)", date_expression, 'day') }}, 7) + 7, 7) + 1 as integer)
{%- endmacro %}

{#- ISO 8601 week number (1..53). -#}
{% macro iso_week_of_year(date_expression) -%}
    {{ return(adapter.dispatch('iso_week_of_year')(date_expression)) }}
{%- endmacro %}

{% macro duckdb__iso_week_of_year(date_expression) -%}
    cast(extract(week from {{ date_expression }}) as integer)
{%- endmacro %}

{% macro default__iso_week_of_year(date_expression) -%}
    cast(extract(week from {{ date_expression }}) as integer)
{%- endmacro %}

{% macro spark__date_series(start_date, end_date) -%}
    select explode(sequence(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day)) as date_day
{%- endmacro %}

{#- The day before the recommendations' window: the window is the
    `recommendation_window_days` days up to and including `last_date` (an
    expression, usually max(call_date)), i.e. call_date > this day. The
    recommendation signals and the what-if re-pricing share this window. -#}
{% macro recommendation_window_after(last_date) -%}
    {{ add_days(last_date, -(var('recommendation_window_days') | int)) }}
{%- endmacro %}

{#- The recommendations' window as one row: after_date (the day before it) and
    window_end_date (the newest call day). It reads fct_llm_calls itself, not
    the model's `calls` CTE: a CTE read twice is materialised by DuckDB, which
    would copy every call of the fact before the model's own reader ran. -#}
{% macro recommendation_window_bounds() -%}
    select
        {{ recommendation_window_after('max(call_date)') }} as after_date,
        max(call_date) as window_end_date
    from {{ ref('fct_llm_calls') }}
{%- endmacro %}
