-- Calendar over the data range: every day from the first to the last span
-- (the days of the incremental span activity aggregate).
with span_bounds as (

    select
        min(span_date) as first_date,
        max(span_date) as last_date
    from {{ ref('int_span_activity_daily') }}

),

days as (

    {{ date_series('(select first_date from span_bounds)', '(select last_date from span_bounds)') }}

),

final as (

    select
        cast(date_day as date) as date_day,
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(quarter from date_day) as integer) as quarter_number,
        cast(extract(month from date_day) as integer) as month_number,
        cast({{ dbt.date_trunc('month', 'date_day') }} as date) as month_start,
        case cast(extract(month from date_day) as integer)
            when 1 then 'January' when 2 then 'February' when 3 then 'March'
            when 4 then 'April' when 5 then 'May' when 6 then 'June'
            when 7 then 'July' when 8 then 'August' when 9 then 'September'
            when 10 then 'October' when 11 then 'November' else 'December'
        end as month_name,
        cast({{ dbt.date_trunc('week', 'date_day') }} as date) as week_start,
        {{ iso_week_of_year('date_day') }} as iso_week_number,
        cast(extract(day from date_day) as integer) as day_of_month,
        {{ iso_day_of_week('date_day') }} as day_of_week,
        case {{ iso_day_of_week('date_day') }}
            when 1 then 'Monday' when 2 then 'Tuesday' when 3 then 'Wednesday'
            when 4 then 'Thursday' when 5 then 'Friday' when 6 then 'Saturday'
            else 'Sunday'
        end as day_name,
        {{ iso_day_of_week('date_day') }} >= 6 as is_weekend
    from days

)

select
    date_day,
    year_number,
    quarter_number,
    month_number,
    month_start,
    month_name,
    week_start,
    iso_week_number,
    day_of_month,
    day_of_week,
    day_name,
    is_weekend
from final
