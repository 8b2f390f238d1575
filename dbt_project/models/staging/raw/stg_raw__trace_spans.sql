-- one row per span: the raw layer cast to the contract types. The loader
-- already de-duplicates on span_id (tested on the source), so no window
-- function here: the view stays a projection and date filters reach the
-- raw table scan, which keeps incremental runs proportional to the window.
with source as (

    select * from {{ source('raw', 'trace_spans') }}

),

renamed as (

    select
        cast(span_id as string) as span_id,
        cast(trace_id as string) as trace_id,
        cast(parent_span_id as string) as parent_span_id,
        cast(started_at as timestamp) as started_at,
        cast(duration_ms as double) as duration_ms,
        cast(time_to_first_token_ms as double) as time_to_first_token_ms,
        cast(operation as string) as operation,
        cast(provider as string) as provider,
        cast(request_model as string) as request_model,
        cast(response_model as string) as response_model,
        cast(coalesce(service_tier, 'default') as string) as service_tier,
        cast(tool_name as string) as tool_name,
        cast(workspace_id as string) as workspace_id,
        cast(department as string) as department,
        cast(agent_id as string) as agent_id,
        cast(agent_name as string) as agent_name,
        cast(user_id as string) as user_id,
        cast(conversation_id as string) as conversation_id,
        cast(environment as string) as environment,
        cast(tags as string) as tags,
        cast(status as string) as status,
        cast(error_type as string) as error_type,
        cast(input_tokens as bigint) as input_tokens,
        cast(output_tokens as bigint) as output_tokens,
        cast(cache_read_tokens as bigint) as cache_read_tokens,
        cast(cache_write_tokens as bigint) as cache_write_tokens,
        cast(reasoning_tokens as bigint) as reasoning_tokens,
        cast(reported_cost_usd as double) as reported_cost_usd,
        cast(instrumentation_scope as string) as instrumentation_scope,
        cast(_source_file as string) as source_file,
        cast(_source_row as bigint) as source_row,
        cast(_source_format as string) as source_format,
        cast(_loaded_at as timestamp) as loaded_at
    from source

)

select * from renamed
