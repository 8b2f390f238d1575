{#- 64-bit floating point, for ratios, shares, unit costs and latencies.
    dbt's type_float() gives `float`, which is 32-bit on DuckDB; money stays
    DECIMAL through money_type() (macros/portability.sql). -#}
{% macro double_type() -%}
    {{ return(adapter.dispatch('double_type')()) }}
{%- endmacro %}

{% macro default__double_type() -%} double precision {%- endmacro %}

{% macro duckdb__double_type() -%} double {%- endmacro %}
