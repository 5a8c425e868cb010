CREATE OR REPLACE TEMP TABLE ingest_prices (
    model VARCHAR PRIMARY KEY, input_per_m DOUBLE NOT NULL, output_per_m DOUBLE NOT NULL);
