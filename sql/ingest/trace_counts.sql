-- What a trace file held besides records: spans that are not GenAI model calls, and scores
-- left out by their 'skip' mode.
SELECT count(*) FILTER (WHERE record_kind = 'skipped_span') AS spans_skipped,
       count(*) FILTER (WHERE record_kind = 'feedback' AND record->>'$.score.type' IS NOT NULL
                        AND fw_score_mode(record->>'$.score.name', $score_names, $score_modes) = 'skip')
           AS scores_skipped
FROM trace_records;
