-- The stored rows of the recomputed windows, and every row of the experiments rebuilt whole,
-- make way for the new ones (night_rows_insert).
DELETE FROM ab_user_nights AS n
WHERE list_contains($rebuilt::VARCHAR[], n.experiment)
   OR EXISTS (SELECT 1 FROM ab_changed AS w
              WHERE w.experiment = n.experiment AND w.part = n.part AND w.night = n.night);
