-- Which registered version each arm of the experiments actually served (from the logged
-- prompt hashes), with request counts: the report takes each arm's most served version.
SELECT r.experiment, coalesce(r.variant, '(missing)') AS variant, v.version_hash,
       count(*) AS requests
FROM requests AS r
JOIN request_prompt_versions AS v USING (request_id)
WHERE list_contains($experiments, r.experiment) AND r.ts < $as_of
  AND v.version_hash IS NOT NULL
GROUP BY ALL
ORDER BY r.experiment, variant, requests DESC, v.version_hash;
