SELECT id, count(*) FILTER (WHERE is_current) AS current_versions,
       count(*) FILTER (WHERE valid_to IS NULL) AS open_versions
FROM gold.gold_crm_customer GROUP BY id ORDER BY id
