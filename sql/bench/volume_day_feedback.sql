-- Production-volume benchmark: the day's feedback, each signal of the request's template after the same delay.
INSERT INTO vol_feedback
SELECT 'fb_' || substr(md5(d.request_id || ':' || f.kind), 1, 20) AS feedback_id, d.request_id,
       d.user_id, d.ts + to_milliseconds(f.delay_ms) AS ts, f.kind, f.value, f.corrected_output,
       f.comment
FROM vol_day AS d
JOIN vol_feedback_templates AS f ON f.request_id = d.template_id;
