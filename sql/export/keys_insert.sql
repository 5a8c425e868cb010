-- The keys of the examples a night's part wrote ($key_kinds and $keys: parallel lists).
INSERT INTO export_keys (kind, night, key_kind, key)
SELECT DISTINCT $kind, $night, k.key_kind, k.key
FROM (SELECT unnest($key_kinds) AS key_kind, unnest($keys) AS key) AS k;
