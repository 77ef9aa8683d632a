SELECT count(*) AS versions FROM glob('lake/silver/events/_delta_log/*.json')
