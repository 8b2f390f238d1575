{#-
  Engine-specific SQL lives here and only here. Each macro dispatches through
  adapter.dispatch(<name>, 'agentledger'): DuckDB gets duckdb__*, other engines
  the default__ (ANSI where possible) or spark__ version. Porting the project
  to a new engine means adding <engine>__ implementations in this file.
  The list is documented in docs/pricing.md, section "Portability".
-#}

{#- Money: every USD amount in the warehouse. -#}
{% macro money_type() -%}
    {{ return(adapter.dispatch('money_type', 'agentledger')()) }}
{%- endmacro %}
{% macro default__money_type() -%} decimal(38,12) {%- endmacro %}

{#- Unit prices in cost arithmetic: USD per million tokens, 9 decimals (a
    nano-dollar per million tokens). Narrow on purpose: DuckDB multiplies
    decimals of width <= 18 without int128 overflow checks, about 20x faster
    than with decimal(38,18) operands; the rounding is below 1e-8 USD even for
    a 10M-token call. The seeds keep the catalog's exact values. -#}
{% macro price_type() -%}
    {{ return(adapter.dispatch('price_type', 'agentledger')()) }}
{%- endmacro %}
{% macro default__price_type() -%} decimal(18,9) {%- endmacro %}

{#- Cost of `tokens` at `price_per_mtok` USD per million tokens, as money.
    Exact decimal arithmetic: multiplying by 0.000001 keeps a decimal on every
    engine, where dividing by 1e6 turns DuckDB decimals into doubles. One
    call's tokens are narrow (18 digits, the fast path); `summed=true` widens
    them for token sums, whose product with a price can pass 18 digits. -#}
{% macro token_cost(tokens, price_per_mtok, summed=false) -%}
    {{ return(adapter.dispatch('token_cost', 'agentledger')(tokens, price_per_mtok, summed)) }}
{%- endmacro %}
{% macro default__token_cost(tokens, price_per_mtok, summed=false) -%}
    cast(cast({{ tokens }} as decimal({{ 38 if summed else 18 }},0)) * {{ price_per_mtok }} * cast(0.000001 as decimal(7,6)) as {{ money_type() }})
{%- endmacro %}

{#- Timestamp truncated to the hour. -#}
{% macro hour_of(ts) -%}
    {{ return(adapter.dispatch('hour_of', 'agentledger')(ts)) }}
{%- endmacro %}
{% macro default__hour_of(ts) -%} date_trunc('hour', {{ ts }}) {%- endmacro %}
{% macro spark__hour_of(ts) -%} date_trunc('HOUR', {{ ts }}) {%- endmacro %}

{#- A date shifted by a whole number of days (negative goes back). -#}
{% macro add_days(date_expr, days) -%}
    {{ return(adapter.dispatch('add_days', 'agentledger')(date_expr, days)) }}
{%- endmacro %}
{% macro default__add_days(date_expr, days) -%} (cast({{ date_expr }} as date) + cast({{ days }} as integer)) {%- endmacro %}
{% macro spark__add_days(date_expr, days) -%} date_add(cast({{ date_expr }} as date), {{ days }}) {%- endmacro %}

{#- Seconds after midnight of a timestamp (time-of-day price windows). -#}
{% macro seconds_of_day(ts) -%}
    {{ return(adapter.dispatch('seconds_of_day', 'agentledger')(ts)) }}
{%- endmacro %}
{% macro default__seconds_of_day(ts) -%}
    (extract(hour from {{ ts }}) * 3600 + extract(minute from {{ ts }}) * 60 + floor(extract(second from {{ ts }})))
{%- endmacro %}
{% macro duckdb__seconds_of_day(ts) -%}
    (hour({{ ts }}) * 3600 + minute({{ ts }}) * 60 + second({{ ts }}))
{%- endmacro %}

{#- 'HH:MM:SS' text (24:00:00 allowed) to seconds after midnight. -#}
{% macro hms_to_seconds(text) -%}
    {{ return(adapter.dispatch('hms_to_seconds', 'agentledger')(text)) }}
{%- endmacro %}
{% macro default__hms_to_seconds(text) -%}
    (cast(split_part({{ text }}, ':', 1) as integer) * 3600
     + cast(split_part({{ text }}, ':', 2) as integer) * 60
     + cast(split_part({{ text }}, ':', 3) as integer))
{%- endmacro %}

{#- Value of `value` on the row where `ordering` is largest (aggregate). Rows
    whose ordering is null are skipped; a null value on the chosen row is the
    answer, on both engines: Spark's max_by keeps it, and DuckDB's
    arg_max_null does (its plain arg_max would skip the row and take the
    next one's value). -#}
{% macro value_at_max(value, ordering) -%}
    {{ return(adapter.dispatch('value_at_max', 'agentledger')(value, ordering)) }}
{%- endmacro %}
{% macro default__value_at_max(value, ordering) -%} max_by({{ value }}, {{ ordering }}) {%- endmacro %}
{% macro duckdb__value_at_max(value, ordering) -%} arg_max_null({{ value }}, {{ ordering }}) {%- endmacro %}

{#- Value of `value` on the row where `ordering` is smallest (aggregate); with
    ordering_key() the ordering can be several columns compared in turn. Null
    handling as value_at_max: null orderings skipped, a null value kept. To
    skip rows whose value is null, say so with `filter (where ... is not null)`. -#}
{% macro value_at_min(value, ordering) -%}
    {{ return(adapter.dispatch('value_at_min', 'agentledger')(value, ordering)) }}
{%- endmacro %}
{% macro default__value_at_min(value, ordering) -%} min_by({{ value }}, {{ ordering }}) {%- endmacro %}
{% macro duckdb__value_at_min(value, ordering) -%} arg_min_null({{ value }}, {{ ordering }}) {%- endmacro %}

{#- Several expressions as one value that compares column by column
    (lexicographically), for value_at_min/value_at_max orderings with tie-breaks. -#}
{% macro ordering_key(expressions) -%}
    {{ return(adapter.dispatch('ordering_key', 'agentledger')(expressions)) }}
{%- endmacro %}
{% macro default__ordering_key(expressions) -%} struct({{ expressions | join(', ') }}) {%- endmacro %}
{% macro duckdb__ordering_key(expressions) -%} row({{ expressions | join(', ') }}) {%- endmacro %}

{#- Milliseconds since the Unix epoch, truncated (as datediff in milliseconds counts them). -#}
{% macro epoch_milliseconds(ts) -%}
    {{ return(adapter.dispatch('epoch_milliseconds', 'agentledger')(ts)) }}
{%- endmacro %}
{% macro default__epoch_milliseconds(ts) -%} {{ dbt.datediff("cast('1970-01-01' as timestamp)", ts, 'millisecond') }} {%- endmacro %}
{% macro duckdb__epoch_milliseconds(ts) -%} epoch_ms({{ ts }}) {%- endmacro %}
{% macro spark__epoch_milliseconds(ts) -%} unix_millis({{ ts }}) {%- endmacro %}

{#- Continuous percentile (aggregate), fraction in [0, 1].

    `together_with`: the other fractions of the same expression the query
    computes. Engines that take a list of fractions sort the values once for
    all of them; each call renders the same list aggregate (which the engine
    computes once) and picks its own element. On 10M calls grouped by agent,
    three separate DuckDB quantiles take 0.47 s, one list 0.17 s. -#}
{% macro percentile_cont(expr, fraction, together_with=[]) -%}
    {%- set fractions = ([fraction] + together_with) | unique | sort -%}
    {{ return(adapter.dispatch('percentile_cont', 'agentledger')(expr, fraction, fractions)) }}
{%- endmacro %}
{% macro default__percentile_cont(expr, fraction, fractions) -%}
    percentile_cont({{ fraction }}) within group (order by {{ expr }})
{%- endmacro %}
{% macro duckdb__percentile_cont(expr, fraction, fractions) -%}
    {%- if fractions | length == 1 -%}
    quantile_cont({{ expr }}, {{ fraction }})
    {%- else -%}
    quantile_cont({{ expr }}, [{{ fractions | join(', ') }}])[{{ fractions.index(fraction) + 1 }}]
    {%- endif -%}
{%- endmacro %}
{% macro spark__percentile_cont(expr, fraction, fractions) -%}
    {%- if fractions | length == 1 -%}
    percentile({{ expr }}, {{ fraction }})
    {%- else -%}
    element_at(percentile({{ expr }}, array({{ fractions | join(', ') }})), {{ fractions.index(fraction) + 1 }})
    {%- endif -%}
{%- endmacro %}

{#- Sorted, de-duplicated list of values as one comma-separated string (aggregate). -#}
{% macro distinct_list(expr) -%}
    {{ return(adapter.dispatch('distinct_list', 'agentledger')(expr)) }}
{%- endmacro %}
{% macro default__distinct_list(expr) -%}
    listagg(distinct {{ expr }}, ',') within group (order by {{ expr }})
{%- endmacro %}
{% macro duckdb__distinct_list(expr) -%}
    array_to_string(list_sort(list_distinct(list({{ expr }}))), ',')
{%- endmacro %}
{% macro spark__distinct_list(expr) -%}
    array_join(array_sort(collect_set({{ expr }})), ',')
{%- endmacro %}

{#- Largest BIGINT, the open upper end of a token band. -#}
{% macro max_bigint() -%} 9223372036854775807 {%- endmacro %}

{#- How the incremental models replace what a run recomputes (used in their
    config() and, for the daily folders, mirrored in dbt_project.yml).

    replace_days_strategy(): models keyed by a day column. DuckDB deletes the
    run's days and inserts them again; Spark's Parquet tables have no row
    delete, so the table is partitioned by the day and the run's partitions are
    overwritten (insert_overwrite with dynamic partition overwrite).

    trace_keyed_materialization(): models keyed by trace or span that recompute
    the traces touched by the window (fct_llm_calls, fct_traces and the trace
    attribution). Their rows cannot be replaced by whole day partitions (a
    touched trace may be a few spans of a day whose other traces are kept), and
    Spark has no row delete or merge on plain Parquet, so on Spark they are
    rebuilt whole on every run (docs/engines.md). -#}
{% macro replace_days_strategy() -%}
    {{ return(adapter.dispatch('replace_days_strategy', 'agentledger')()) }}
{%- endmacro %}
{% macro default__replace_days_strategy() -%} {{ return('delete+insert') }} {%- endmacro %}
{% macro spark__replace_days_strategy() -%} {{ return('insert_overwrite') }} {%- endmacro %}

{% macro trace_keyed_materialization() -%}
    {{ return(adapter.dispatch('trace_keyed_materialization', 'agentledger')()) }}
{%- endmacro %}
{% macro default__trace_keyed_materialization() -%} {{ return('incremental') }} {%- endmacro %}
{% macro spark__trace_keyed_materialization() -%} {{ return('table') }} {%- endmacro %}

{#- The alias of the relation a filtered data test reads (test_window.sql's
    get_where_subquery): Spark reads `from t where (cond)` as an alias named
    `where` with a column list, so there the relation gets one first. -#}
{% macro default__filtered_relation_alias() -%} {{ return('') }} {%- endmacro %}
{% macro spark__filtered_relation_alias() -%} {{ return(' as unfiltered_rows') }} {%- endmacro %}

{#- `name as {{ inlined_cte() }} (select ...)`: each reader of the CTE runs its
    query. DuckDB otherwise materialises a CTE that two parts of a query read,
    copying every row it yields before either reader starts, which for a
    projection of the raw spans is the whole history (and spills to disk at
    100M calls). Spark inlines CTEs and has no such keyword. -#}
{% macro inlined_cte() -%}
    {{ return(adapter.dispatch('inlined_cte', 'agentledger')()) }}
{%- endmacro %}
{% macro default__inlined_cte() -%} {%- endmacro %}
{% macro duckdb__inlined_cte() -%} not materialized {%- endmacro %}

{#- A struct with named fields, from a mapping of field name to expression
    (read back with struct_field). With value_at_min/value_at_max it takes
    several columns from the same row in one aggregate: one state per group
    instead of one per column. -#}
{% macro named_struct(fields) -%}
    {{ return(adapter.dispatch('named_struct', 'agentledger')(fields)) }}
{%- endmacro %}
{% macro default__named_struct(fields) -%}
    named_struct({% for name, expression in fields.items() %}'{{ name }}', {{ expression }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}
{% macro duckdb__named_struct(fields) -%}
    struct_pack({% for name, expression in fields.items() %}{{ name }} := {{ expression }}{{ ', ' if not loop.last }}{% endfor %})
{%- endmacro %}

{#- One field of a named_struct value. -#}
{% macro struct_field(value, field) -%}
    {{ return(adapter.dispatch('struct_field', 'agentledger')(value, field)) }}
{%- endmacro %}
{% macro default__struct_field(value, field) -%} {{ value }}.{{ field }} {%- endmacro %}
{% macro duckdb__struct_field(value, field) -%} struct_extract({{ value }}, '{{ field }}') {%- endmacro %}
