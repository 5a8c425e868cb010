-- link_pairs_new: the pairs that requests ingested after $since add to, merged with what the
-- table holds for them ($rebuild: the table's rows are left out, to be replaced). $keep: how many
-- examples a pair keeps (the first by ts, request_id).
CREATE OR REPLACE TEMP TABLE link_pairs_new AS
WITH delta AS (
    SELECT prompt_hash, prompt_name, count(*) AS requests, min(ts) AS first_ts,
           max(ts) AS last_ts,
           list({'ts': ts, 'request_id': request_id} ORDER BY ts, request_id)[1:$keep] AS examples
    FROM requests
    WHERE ingested_at > $since
    GROUP BY ALL
),
merged AS (
    SELECT * FROM delta
    UNION ALL
    SELECT p.* FROM request_link_pairs AS p
    SEMI JOIN delta AS d
      ON d.prompt_hash IS NOT DISTINCT FROM p.prompt_hash
     AND d.prompt_name IS NOT DISTINCT FROM p.prompt_name
    WHERE NOT $rebuild
)
SELECT prompt_hash, prompt_name, sum(requests)::BIGINT AS requests, min(first_ts) AS first_ts,
       max(last_ts) AS last_ts, list_sort(flatten(list(examples)))[1:$keep] AS examples
FROM merged
GROUP BY ALL;
