INSERT INTO serving_snapshots
    (generation, path, sha256, bytes, prompts, experiments, rollouts, reason, written_at)
VALUES ($generation, $path, $sha256, $bytes, $prompts, $experiments, $rollouts, $reason, $now);
