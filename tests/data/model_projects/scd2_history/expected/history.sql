SELECT id, name, tier, valid_from,
       CASE WHEN valid_to > TIMESTAMP '2026-06-01' THEN 'build time' ELSE CAST(valid_to AS VARCHAR) END AS valid_to,
       is_current
FROM gold.gold_crm_customer ORDER BY ALL
