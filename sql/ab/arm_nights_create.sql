-- The pass's new per-arm counts (ab/arm_nights_compute.sql fills it).
CREATE OR REPLACE TEMP TABLE ab_arm_nights_new AS SELECT * FROM ab_arm_nights LIMIT 0;
