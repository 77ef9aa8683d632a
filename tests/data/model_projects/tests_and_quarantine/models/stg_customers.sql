select id, name, email, country, cast(signed_up as date) as signed_up from {{ ref('customers') }}
