-- The dedup keys the nightly parts of this kind wrote before $night.
SELECT DISTINCT key_kind, key FROM export_keys WHERE kind = $kind AND night < $night;
