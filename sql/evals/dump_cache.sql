SELECT * FROM eval_cache ORDER BY cache_key;
