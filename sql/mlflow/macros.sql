-- What the MLflow mirror sends, one row per item: (kind, item_key, fingerprint, details...).
-- Temporary macros on the mirror's connection; docs/mlflow.md explains the keys.

-- Offline evals by eval key: runs that compared the same versions (in order) on the same eval-set
-- content, with the same repeats, judge and kind of model, are one MLflow run; the newest flywheel
-- run stands for the key (a cached re-run of a night, or a second demo, updates, never adds).
CREATE OR REPLACE TEMP MACRO fw_mlflow_eval_items() AS TABLE
    WITH keyed AS (
        SELECT *,
               sha256(concat_ws('|', evalset_hash,
                                array_to_string(json_extract_string(versions, '$[*].hash'), ','),
                                repeats::VARCHAR, coalesce(judge_model, ''),
                                demo_model::VARCHAR)) AS eval_key
        FROM eval_runs
        WHERE summary IS NOT NULL
    )
    SELECT 'eval' AS kind, eval_key AS item_key, run_id AS fingerprint, * EXCLUDE (eval_key)
    FROM keyed
    QUALIFY row_number() OVER (PARTITION BY eval_key ORDER BY finished_at DESC, run_id DESC) = 1;

-- A/B nights: one item per (experiment, run date); re-analysing a night with the same outcome
-- leaves the fingerprint (md5 of the stored report) as it was.
CREATE OR REPLACE TEMP MACRO fw_mlflow_ab_items() AS TABLE
    SELECT 'ab' AS kind, experiment || '/' || strftime(run_date, '%Y-%m-%d') AS item_key,
           md5(report::VARCHAR) AS fingerprint,
           experiment, strftime(run_date, '%Y-%m-%d') AS run_date, users, requests, report,
           computed_at
    FROM ab_checks;

-- Every (name, version) pair of the registry, oldest first within a name.
CREATE OR REPLACE TEMP MACRO fw_mlflow_prompt_items() AS TABLE
    SELECT 'prompt_version' AS kind, n.name || '/' || n.hash AS item_key, n.hash AS fingerprint,
           n.name, n.hash, v.content, v.metadata, n.source_file, n.first_seen
    FROM prompt_names AS n
    JOIN prompt_versions AS v ON v.hash = n.hash;

-- Every label, as the MLflow alias it becomes.
CREATE OR REPLACE TEMP MACRO fw_mlflow_label_items() AS TABLE
    SELECT 'alias' AS kind, name || '@' || label AS item_key, hash AS fingerprint,
           name, label, hash
    FROM prompt_labels;
