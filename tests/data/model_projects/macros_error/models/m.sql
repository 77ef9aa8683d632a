select {{ month_start('current_date') }} as m
