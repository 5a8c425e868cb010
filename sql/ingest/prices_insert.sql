INSERT INTO ingest_prices VALUES ($model, $input_per_m, $output_per_m);
