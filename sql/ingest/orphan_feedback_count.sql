-- Feedback whose request has not arrived (yet): kept, and joined as soon as it does.
SELECT count(*) FROM feedback AS f
WHERE NOT EXISTS (SELECT 1 FROM requests AS r WHERE r.request_id = f.request_id);
