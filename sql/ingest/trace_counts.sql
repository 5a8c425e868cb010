-- What a trace file's conversion produced: request and feedback records (a kind with none is
-- not staged at all), spans that are not model calls, and scores left out by a 'skip' mode.
SELECT count(*) FILTER (WHERE record_kind = 'requests') AS requests,
       count(*) FILTER (WHERE record_kind = 'feedback') AS feedback,
       count(*) FILTER (WHERE record_kind = 'skipped_span') AS spans_skipped,
       count(*) FILTER (WHERE record_kind = 'feedback' AND record->>'$.score.type' IS NOT NULL
                        AND fw_score_mode(record->>'$.score.name', $score_names, $score_modes) = 'skip')
           AS scores_skipped
FROM trace_records;
