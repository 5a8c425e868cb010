-- The latest calibration of a judge model's rubric (or its pooled '*' row): what decisions
-- resting on that judge read (docs/evals.md, "Judge calibration").
SELECT rubric, n, kappa, min_kappa, created_at
FROM judge_calibrations
WHERE judge_model = $judge_model AND rubric IN ($rubric, '*')
ORDER BY rubric = $rubric DESC, created_at DESC, calibration_id DESC
LIMIT 1;
