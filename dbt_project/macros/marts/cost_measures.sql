{#- Cost aggregates shared by the cost marts. Costs are sums of the DECIMAL
    columns of priced calls only: unpriced calls have null costs, are counted in
    unpriced_calls, and a group with no priced call has a null cost (never 0). -#}
{% macro cost_measures() -%}
        cast(count(*) as bigint) as calls,
        cast(sum(case when is_priced then 1 else 0 end) as bigint) as priced_calls,
        cast(sum(case when is_priced then 0 else 1 end) as bigint) as unpriced_calls,
        cast(sum(input_tokens) as bigint) as input_tokens,
        cast(sum(output_tokens) as bigint) as output_tokens,
        cast(sum(total_tokens) as bigint) as total_tokens,
        cast(sum(uncached_input_cost_usd) as {{ money_type() }}) as uncached_input_cost_usd,
        cast(sum(cache_read_cost_usd) as {{ money_type() }}) as cache_read_cost_usd,
        cast(sum(cache_write_cost_usd) as {{ money_type() }}) as cache_write_cost_usd,
        cast(sum(output_cost_usd) as {{ money_type() }}) as output_cost_usd,
        cast(sum(reasoning_cost_usd) as {{ money_type() }}) as reasoning_cost_usd,
        cast(sum(total_cost_usd) as {{ money_type() }}) as total_cost_usd,
        cast(sum(cache_savings_usd) as {{ money_type() }}) as cache_savings_usd,
        cast(sum(cache_write_premium_usd) as {{ money_type() }}) as cache_write_premium_usd
{%- endmacro %}

{% macro cost_measure_columns(prefix='') -%}
        {{ prefix }}calls,
        {{ prefix }}priced_calls,
        {{ prefix }}unpriced_calls,
        {{ prefix }}input_tokens,
        {{ prefix }}output_tokens,
        {{ prefix }}total_tokens,
        {{ prefix }}uncached_input_cost_usd,
        {{ prefix }}cache_read_cost_usd,
        {{ prefix }}cache_write_cost_usd,
        {{ prefix }}output_cost_usd,
        {{ prefix }}reasoning_cost_usd,
        {{ prefix }}total_cost_usd,
        {{ prefix }}cache_savings_usd,
        {{ prefix }}cache_write_premium_usd
{%- endmacro %}

{#- cost_measures() summed again over rows that already hold them (an aggregate
    re-grouped after attribution): every measure is a count or a sum, so the
    result equals cost_measures() over the calls. -#}
{% macro cost_measures_rollup() -%}
        cast(sum(calls) as bigint) as calls,
        cast(sum(priced_calls) as bigint) as priced_calls,
        cast(sum(unpriced_calls) as bigint) as unpriced_calls,
        cast(sum(input_tokens) as bigint) as input_tokens,
        cast(sum(output_tokens) as bigint) as output_tokens,
        cast(sum(total_tokens) as bigint) as total_tokens,
        cast(sum(uncached_input_cost_usd) as {{ money_type() }}) as uncached_input_cost_usd,
        cast(sum(cache_read_cost_usd) as {{ money_type() }}) as cache_read_cost_usd,
        cast(sum(cache_write_cost_usd) as {{ money_type() }}) as cache_write_cost_usd,
        cast(sum(output_cost_usd) as {{ money_type() }}) as output_cost_usd,
        cast(sum(reasoning_cost_usd) as {{ money_type() }}) as reasoning_cost_usd,
        cast(sum(total_cost_usd) as {{ money_type() }}) as total_cost_usd,
        cast(sum(cache_savings_usd) as {{ money_type() }}) as cache_savings_usd,
        cast(sum(cache_write_premium_usd) as {{ money_type() }}) as cache_write_premium_usd
{%- endmacro %}
