{#-
  The incremental window of the call-level fact, from the dbt vars Dagster
  passes (min_date, max_date: inclusive UTC dates; lookback_days re-processed
  before min_date for late data). Returns a SQL predicate on `date_column`.

  - vars unset on an incremental run: from lookback_days before the newest
    day already in the target, to the end;
  - full refresh / first run: everything (true), so a rebuild equals the sum
    of incremental runs.
-#}
{% macro partition_window_predicate(date_column) -%}
    {%- set min_date = var('min_date', none) -%}
    {%- set max_date = var('max_date', none) -%}
    {%- set lookback = var('lookback_days', 2) | int -%}
    {%- if not is_incremental() -%}
        true
    {%- else -%}
        {%- if min_date -%}
            {{ date_column }} >= {{ add_days("cast('" ~ min_date ~ "' as date)", -lookback) }}
        {%- else -%}
            {{ date_column }} >= (select {{ add_days('coalesce(max(' ~ date_column ~ "), cast('1970-01-01' as date))", -lookback) }} from {{ this }})
        {%- endif %}
        {%- if max_date %}
            and {{ date_column }} <= cast('{{ max_date }}' as date)
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}
