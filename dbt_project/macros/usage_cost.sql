{#- The cost of one usage type's tokens at a price band's rates, as money.
    A usage type without its own price is billed at its parent's rate, as the
    catalog does: cache reads and writes at the input rate, reasoning at the
    output rate; no price at all costs 0 (the caller says whether the call was
    priced). `summed`: the tokens are a sum over calls (token_cost). `prices`
    qualifies the band's price columns (e.g. 'bands.'): the
    call fact (int_llm_calls_priced) and the what-if re-pricing
    (rpt_agent_workload_repricing) both price with this one rule. -#}
{% macro usage_cost(usage_type, tokens, prices='', summed=false) -%}
    {%- set fallbacks = {
        'input': ['input'],
        'cache_read': ['cache_read', 'input'],
        'cache_write': ['cache_write', 'input'],
        'output': ['output'],
        'reasoning': ['reasoning', 'output'],
    } -%}
    {%- if usage_type not in fallbacks -%}
        {{ exceptions.raise_compiler_error("usage_cost: unknown usage type '" ~ usage_type ~ "'; expected one of " ~ (fallbacks.keys() | list | join(', '))) }}
    {%- endif -%}
    {%- set rates = [] -%}
    {%- for kind in fallbacks[usage_type] -%}
        {%- do rates.append(prices ~ kind ~ '_price_per_mtok') -%}
    {%- endfor -%}
    {{ token_cost(tokens, 'coalesce(' ~ (rates | join(', ')) ~ ', cast(0 as ' ~ price_type() ~ '))', summed) }}
{%- endmacro %}
