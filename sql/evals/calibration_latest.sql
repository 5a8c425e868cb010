-- The latest calibration of each rubric of a judge model.
SELECT rubric, n, kappa, tpr, tnr, created_at
FROM judge_calibrations
WHERE judge_model = $judge_model
QUALIFY row_number() OVER (PARTITION BY rubric ORDER BY created_at DESC, calibration_id DESC) = 1
ORDER BY rubric;
