-- What the per-user pass reads: the stored per-user-night sums of the experiments analysed
-- (a nightly run on its state) ...
CREATE OR REPLACE TEMP VIEW ab_night_rows AS
SELECT n.* FROM ab_user_nights AS n SEMI JOIN ab_config AS c USING (experiment);
