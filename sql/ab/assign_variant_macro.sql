-- The variant split in SQL, declared once for every statement that needs it (temporary macros
-- on the connection; tasks/serving/assignment.py is the same formula in Python and a test checks
-- that the two agree):
--   fw_variant_bucket(experiment, unit_id) = int(md5(experiment || ':' || unit_id)[:8], 16) / 0xFFFFFFFF
--   fw_assign_variant(experiment, unit_id, variants, cum_weights) = the first variant whose
--   cumulative normalized weight (tasks/serving/assignment.py: cumulative_weights) exceeds the
--   bucket, else the last.
CREATE OR REPLACE TEMP MACRO fw_variant_bucket(experiment, unit_id) AS
    ('0x' || substr(md5(experiment || ':' || unit_id), 1, 8))::UBIGINT / 4294967295.0;

CREATE OR REPLACE TEMP MACRO fw_assign_variant(experiment, unit_id, variants, cum_weights) AS
    variants[coalesce(
        list_position(
            list_transform(cum_weights, lambda w: w > fw_variant_bucket(experiment, unit_id)),
            true),
        len(variants))];
