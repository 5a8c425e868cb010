-- What the per-user pass reads: the stored per-user-night sums of the experiments analysed
-- (a nightly run on its state; the pre-period rows, experiment '', are shared) ...
CREATE OR REPLACE TEMP VIEW ab_night_rows AS
SELECT n.* FROM ab_user_nights AS n
WHERE n.experiment = '' OR n.experiment IN (SELECT experiment FROM ab_config);
