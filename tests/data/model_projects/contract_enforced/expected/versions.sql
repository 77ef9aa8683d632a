SELECT count(*) AS parquet_files FROM glob('lake/gold/gold_sales_daily/*.parquet')
