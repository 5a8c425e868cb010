INSERT INTO judge_calibrations (calibration_id, judge_model, rubric, labels_path, labels_hash, n,
                                kappa, tpr, tnr, min_kappa, calibrated, agreement, created_at)
VALUES ($calibration_id, $judge_model, $rubric, $labels_path, $labels_hash, $n, $kappa, $tpr,
        $tnr, $min_kappa, $calibrated, $agreement, $created_at);
