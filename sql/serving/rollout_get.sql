SELECT * FROM rollouts WHERE rollout_id = $rollout_id;
