-- The next serving snapshot generation (a sequence: never handed out twice).
SELECT nextval('serving_generation_seq') AS generation;
