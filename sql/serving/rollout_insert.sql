INSERT INTO rollouts (kind, subject, prompt_name, label, from_hash, to_hash, stages,
                      min_users_per_stage, guardrails, stage, status, stage_started_at,
                      last_decided_date, label_move_id, created_at, created_by, updated_at)
VALUES ($kind, $subject, $prompt_name, $label, $from_hash, $to_hash, $stages,
        $min_users_per_stage, $guardrails, $stage, $status, $stage_started_at,
        NULL, $label_move_id, $now, $by, $now)
RETURNING *;
