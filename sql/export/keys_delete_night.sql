-- A night's part is written again: its keys are replaced.
DELETE FROM export_keys WHERE kind = $kind AND night = $night;
