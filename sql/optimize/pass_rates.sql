-- Each version's offline pass rate over every eval result it has (errors left out).
SELECT prompt_hash, avg(CASE WHEN passed THEN 1.0 ELSE 0.0 END) AS pass_rate, count(*) AS cases
FROM eval_results
WHERE passed IS NOT NULL
GROUP BY prompt_hash;
