"""A/B experiment analysis: experiment files, DuckDB aggregation, statistics, persistence."""

from flywheel.tasks.ab.run import as_of_moment, build_report, run_nightly_analysis

__all__ = ["as_of_moment", "build_report", "run_nightly_analysis"]
