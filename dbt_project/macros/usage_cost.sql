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

{#- The join condition that picks a price band for a call: valid on the call's
    date (valid_from inclusive, valid_to exclusive), its daily window holding
    the call's second of the day, and its input-size band holding the call's
    input tokens (floor exclusive, ceiling inclusive). `bands` is the band
    relation's alias. The call fact prices each call with it, the what-if
    re-pricing each bucket (a bucket lies wholly inside one band). -#}
{% macro price_band_holds(bands, price_date, second_of_day, input_tokens) -%}
    {{ price_date }} >= {{ bands }}.valid_from
    and {{ price_date }} < {{ bands }}.valid_to
    and {{ second_of_day }} >= {{ bands }}.daily_from_second
    and {{ second_of_day }} < {{ bands }}.daily_to_second
    and {{ input_tokens }} > {{ bands }}.band_floor_tokens
    and {{ input_tokens }} <= {{ bands }}.band_ceiling_tokens
{%- endmacro %}
