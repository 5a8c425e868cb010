-- How many requests link to a registered version, by link status (see request_prompt_versions).
SELECT count(*) AS requests,
       count_if(link_status = 'resolved') AS resolved,
       count_if(link_status = 'unknown') AS unknown,
       count_if(link_status = 'ambiguous') AS ambiguous,
       count_if(link_status = 'no_hash') AS no_hash,
       count_if(link_status = 'no_hash' AND prompt_name IS NULL) AS no_prompt_at_all,
       count_if(name_matches = false) AS name_mismatch
FROM request_prompt_versions;
