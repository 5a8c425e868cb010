-- Production-volume benchmark: the templates' feedback ($feedback: the sample's files), with
-- each signal's delay after its request.
CREATE OR REPLACE TABLE vol_feedback_templates AS
SELECT f.request_id, f.kind, f.value, f.corrected_output, f.comment,
       epoch_ms(f."timestamp") - epoch_ms(t."timestamp") AS delay_ms
FROM read_json($feedback, columns = {
    feedback_id: 'VARCHAR', request_id: 'VARCHAR', "timestamp": 'TIMESTAMPTZ',
    kind: 'VARCHAR', value: 'JSON', corrected_output: 'VARCHAR', comment: 'VARCHAR'}) AS f
JOIN vol_templates AS t USING (request_id);
