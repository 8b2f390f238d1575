{#- The span operations that are LLM calls (OpenTelemetry GenAI gen_ai.operation.name):
    the rows of fct_llm_calls. A predicate on `column`. -#}
{% macro is_llm_call_operation(column) -%}
    {{ column }} in ('chat', 'text_completion', 'generate_content', 'embeddings')
{%- endmacro %}
