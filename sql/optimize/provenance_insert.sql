-- Record where a generated version came from; a version already recorded keeps its first row.
INSERT INTO prompt_provenance
    (hash, name, parent_hash, method, feedback_ids, feedback_days, excluded_cases,
     optimizer_model, cost_usd, source_file, built_for, details, created_at)
VALUES ($hash, $name, $parent_hash, $method, $feedback_ids, $feedback_days, $excluded_cases,
        $optimizer_model, $cost_usd, $source_file, $built_for, $details, $now)
ON CONFLICT (hash) DO NOTHING
RETURNING hash;
