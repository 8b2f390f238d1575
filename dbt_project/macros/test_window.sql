{#-
  Data tests of the large incremental tables check only the rows of the run's
  partition window, so that a daily run's tests cost what its day costs, not
  what the history costs.

  A model or source opts in with `meta: {test_window_column: <timestamp column>}`.
  When the run has a window (both min_date and max_date of run_window() in
  partition_window.sql: the vars, or the environment variables Dagster
  sets), every data test on that relation reads it through
  `column >= min_date - lookback_days and column < max_date + 1 day`, the same
  days the incremental models rebuilt; a run without a window (a full build,
  `make test`) tests every row. This overrides dbt's own get_where_subquery,
  the documented hook for filtering what a test reads, and keeps a test's own
  `where` config. A test that reconciles whole tables opts out with
  `config(meta={'test_window': 'whole_table'})`.
-#}
{% macro get_where_subquery(relation) -%}
    {%- set filters = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do filters.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set window_column = test_window_column(relation) -%}
    {%- set whole_table = (config.get('meta') or {}).get('test_window') == 'whole_table' -%}
    {%- set window = run_window() -%}
    {%- if window_column and not whole_table and window.min_date and window.max_date -%}
        {%- do filters.append(
            window_bounds_predicate(window_column, window.min_date, window.max_date, var('lookback_days', 2) | int)
        ) -%}
    {%- endif -%}
    {%- if filters -%}
        {%- set alias = adapter.dispatch('filtered_relation_alias', 'agentledger')() -%}
        {%- do return('(select * from ' ~ relation ~ alias ~ ' where ' ~ filters | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- The test_window_column meta of the model or source the running test reads as `relation`, if any. -#}
{% macro test_window_column(relation) -%}
    {%- if not execute or model is not mapping or 'depends_on' not in model -%}
        {%- do return(none) -%}
    {%- endif -%}
    {%- for node_id in model.depends_on.nodes -%}
        {%- set node = graph.nodes.get(node_id) or graph.sources.get(node_id) -%}
        {%- if node -%}
            {%- set identifier = node.get('identifier') or node.get('alias') or node.name -%}
            {%- set meta = node.get('config', {}).get('meta', {}) or node.get('meta', {}) -%}
            {%- if identifier | lower == (relation.identifier or '') | lower and meta.get('test_window_column') -%}
                {%- do return(meta.get('test_window_column')) -%}
            {%- endif -%}
        {%- endif -%}
    {%- endfor -%}
    {%- do return(none) -%}
{%- endmacro %}
