-- The latency histograms' bin (the reports' charts, the A/B state's per-arm counts): log-spaced,
-- per_decade bins to a factor of ten; bin k covers [10^(k/per_decade), 10^((k+1)/per_decade)) ms.
CREATE OR REPLACE TEMP MACRO latency_bin(ms, per_decade) AS
    floor(log10(greatest(ms, 1.0)) * per_decade)::BIGINT;
