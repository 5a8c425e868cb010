-- How many requests link to a registered version, by link status (link_pairs_status).
SELECT coalesce(sum(requests), 0)::BIGINT AS requests,
       coalesce(sum(requests) FILTER (WHERE link_status = 'resolved'), 0)::BIGINT AS resolved,
       coalesce(sum(requests) FILTER (WHERE link_status = 'unknown'), 0)::BIGINT AS unknown,
       coalesce(sum(requests) FILTER (WHERE link_status = 'ambiguous'), 0)::BIGINT AS ambiguous,
       coalesce(sum(requests) FILTER (WHERE link_status = 'no_hash'), 0)::BIGINT AS no_hash,
       coalesce(sum(requests) FILTER (WHERE link_status = 'no_hash' AND prompt_name IS NULL), 0)::BIGINT
           AS no_prompt_at_all,
       coalesce(sum(requests) FILTER (WHERE name_matches = false), 0)::BIGINT AS name_mismatch
FROM link_pairs_status;
