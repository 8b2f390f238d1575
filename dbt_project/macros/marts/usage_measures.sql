{#- Volume, token and latency aggregates shared by the usage marts, cast to the
    contract types. Percentiles are computed here, at the grain of the query that
    calls the macro; never sum or average them across rows afterwards. -#}
{% macro usage_measures() -%}
        cast(count(*) as bigint) as calls,
        cast(sum(case when is_error then 1 else 0 end) as bigint) as error_calls,
        cast(sum(case when is_error then 1 else 0 end) as double) / count(*) as error_rate,
        cast(sum(input_tokens) as bigint) as input_tokens,
        cast(sum(cache_read_tokens) as bigint) as cache_read_tokens,
        cast(sum(cache_write_tokens) as bigint) as cache_write_tokens,
        cast(sum(uncached_input_tokens) as bigint) as uncached_input_tokens,
        cast(sum(output_tokens) as bigint) as output_tokens,
        cast(sum(reasoning_tokens) as bigint) as reasoning_tokens,
        cast(sum(visible_output_tokens) as bigint) as visible_output_tokens,
        cast(sum(total_tokens) as bigint) as total_tokens,
        -- summed in DECIMAL: a DOUBLE sum depends on the order the rows arrive in,
        -- which would make a rebuild differ from an incremental run in the last bits;
        -- divided as DOUBLE, because engines differ in the scale of a DECIMAL mean
        -- (Spark rounds it to 10 places first, DuckDB does not)
        cast(sum(cast(duration_ms as decimal(38, 6))) as double) / count(duration_ms) as latency_mean_ms,
        cast({{ percentile_cont('duration_ms', 0.5, together_with=[0.95, 0.99]) }} as double) as latency_p50_ms,
        cast({{ percentile_cont('duration_ms', 0.95, together_with=[0.5, 0.99]) }} as double) as latency_p95_ms,
        cast({{ percentile_cont('duration_ms', 0.99, together_with=[0.5, 0.95]) }} as double) as latency_p99_ms,
        cast({{ percentile_cont('time_to_first_token_ms', 0.5) }} as double) as ttft_p50_ms
{%- endmacro %}

{#- The column names usage_measures() produces, in order, for explicit final selects. -#}
{% macro usage_measure_columns(prefix='') -%}
        {{ prefix }}calls,
        {{ prefix }}error_calls,
        {{ prefix }}error_rate,
        {{ prefix }}input_tokens,
        {{ prefix }}cache_read_tokens,
        {{ prefix }}cache_write_tokens,
        {{ prefix }}uncached_input_tokens,
        {{ prefix }}output_tokens,
        {{ prefix }}reasoning_tokens,
        {{ prefix }}visible_output_tokens,
        {{ prefix }}total_tokens,
        {{ prefix }}latency_mean_ms,
        {{ prefix }}latency_p50_ms,
        {{ prefix }}latency_p95_ms,
        {{ prefix }}latency_p99_ms,
        {{ prefix }}ttft_p50_ms
{%- endmacro %}
