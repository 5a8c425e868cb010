-- Production-volume benchmark: each experiment's variants and cumulative weights.
CREATE OR REPLACE TABLE vol_arms (experiment VARCHAR, share DOUBLE, variants VARCHAR[],
                                  cum_weights DOUBLE[]);
