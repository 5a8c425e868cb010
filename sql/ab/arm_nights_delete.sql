-- The stored per-arm counts of the recomputed windows, and all of the experiments rebuilt whole,
-- make way for the new ones (ab/arm_nights_insert.sql).
DELETE FROM ab_arm_nights AS n
WHERE list_contains($rebuilt::VARCHAR[], n.experiment)
   OR EXISTS (SELECT 1 FROM ab_changed AS w
              WHERE w.part = 'post' AND w.experiment = n.experiment AND w.night = n.night);
