-- Production-volume benchmark: the feedback generated so far (written out by the day of its time).
CREATE OR REPLACE TABLE vol_feedback (feedback_id VARCHAR, request_id VARCHAR, user_id VARCHAR,
                                      ts TIMESTAMPTZ, kind VARCHAR, value JSON,
                                      corrected_output VARCHAR, comment VARCHAR);
