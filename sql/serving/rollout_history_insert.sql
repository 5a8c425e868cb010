INSERT INTO rollout_history (rollout_id, kind, subject, run_date, action, from_stage, to_stage,
                             from_fraction, to_fraction, reason, evidence, label_move_id,
                             decided_at, decided_by)
VALUES ($rollout_id, $kind, $subject, $run_date, $action, $from_stage, $to_stage,
        $from_fraction, $to_fraction, $reason, $evidence, $label_move_id, $now, $by)
RETURNING *;
