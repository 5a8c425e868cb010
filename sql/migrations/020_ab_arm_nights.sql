-- The A/B analysis's per-arm counts per UTC night (issue 22: the promotion report reads the
-- nights, not every request of the experiment): per experiment, night, arm, logged prompt
-- (hash and name) and latency bin (ab/arm_nights_compute.sql), kept with the per-user-night sums
-- under the same mark (ab_state) and replaced with them. The report sums them for the version
-- each arm served and its latency histogram when the mark is the report's night.
CREATE TABLE ab_arm_nights (
    experiment   VARCHAR NOT NULL,
    night        DATE NOT NULL,
    variant      VARCHAR NOT NULL,
    prompt_hash  VARCHAR,
    prompt_name  VARCHAR,
    latency_bin  BIGINT,       -- NULL: no latency logged
    requests     BIGINT NOT NULL
);
