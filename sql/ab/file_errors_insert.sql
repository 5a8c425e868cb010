INSERT INTO ab_file_errors VALUES ($run_date, $file, $line, $key, $message, $computed_at);
