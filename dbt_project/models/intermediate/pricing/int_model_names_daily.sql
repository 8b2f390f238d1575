{{
    config(
        materialized='incremental',
        incremental_strategy=replace_days_strategy(),
        unique_key='call_date',
        partition_by=['call_date'],
        on_schema_change='fail'
    )
}}

-- The (provider, request_model, response_model) combinations seen on LLM-call
-- spans per day, incremental by day: a run replaces the days of its
-- partition window. int_model_catalog_matches resolves the distinct
-- combinations of this table (a few hundred) instead of grouping every span
-- of the history on each run.
select
    cast(started_at as date) as call_date,
    provider,
    request_model,
    response_model,
    count(*) as calls
from {{ ref('stg_raw__trace_spans') }}
where {{ is_llm_call_operation('operation') }}
    and {{ partition_window_predicate('started_at') }}
group by cast(started_at as date), provider, request_model, response_model
