-- A night's allocation of one experiment, before it is written again.
DELETE FROM ab_allocations WHERE experiment = $experiment AND starts_on = $starts_on;
