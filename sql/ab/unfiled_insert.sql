INSERT INTO ab_unfiled VALUES ($run_date, $experiment, $variant, $users, $requests, $computed_at);
