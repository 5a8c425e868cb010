"""A/B experiment analysis: experiment files, DuckDB aggregation, statistics, persistence.

The public face of the package; other packages import only these names. Inside, by subject:
``_experiments`` (the files, docs/contracts.md "Formats": experiment files), ``_metrics`` (each
metric declared once) and ``_metric_sql`` (their SQL, generated), ``_aggregate`` (DuckDB, one
row per arm), ``_analysis`` (tests, checks, power, statuses), ``_run`` (the nightly analysis),
``_store`` (persistence), ``_summary`` (Markdown and text); bandits: ``_allocation_spec`` (the
``allocation:`` key), ``_allocation`` (the statistics, numpy) and ``_bandit`` (periods, the
stratified rows and checks, the nightly ``allocate`` step).
"""

from flywheel.tasks.ab._aggregate import (
    QUANTILE_LADDER,
    Aggregates,
    ArmData,
    ExperimentData,
    aggregate,
    quantile_levels,
)
from flywheel.tasks.ab._allocation_spec import AllocationPlan
from flywheel.tasks.ab._analysis import (
    Thresholds,
    analyze_experiment,
    guardrail_results,
    guardrail_status,
    json_safe,
)
from flywheel.tasks.ab._bandit import Period, allocation_rows, periods_of
from flywheel.tasks.ab._experiments import (
    Experiment,
    ExperimentFileError,
    Guardrail,
    RolloutPlan,
    check_stages,
    load_experiment,
    load_experiment_files,
    load_experiments,
)
from flywheel.tasks.ab._metrics import (
    METRICS,
    QUANTILE_METRICS,
    RATIO_METRICS,
    Metric,
    UserSum,
    ratio,
    ratio_metrics,
)
from flywheel.tasks.ab._run import (
    as_of_moment,
    build_report,
    run_nightly_allocation,
    run_nightly_analysis,
)
from flywheel.tasks.ab._state import LATENCY_BINS_PER_DECADE
from flywheel.tasks.ab._store import history, save_report
from flywheel.tasks.ab._summary import markdown_summary, text_summary

__all__ = [
    "LATENCY_BINS_PER_DECADE",
    "METRICS",
    "QUANTILE_LADDER",
    "QUANTILE_METRICS",
    "RATIO_METRICS",
    "Aggregates",
    "AllocationPlan",
    "ArmData",
    "Experiment",
    "ExperimentData",
    "ExperimentFileError",
    "Guardrail",
    "Metric",
    "Period",
    "RolloutPlan",
    "Thresholds",
    "UserSum",
    "aggregate",
    "allocation_rows",
    "analyze_experiment",
    "as_of_moment",
    "build_report",
    "check_stages",
    "guardrail_results",
    "guardrail_status",
    "history",
    "json_safe",
    "load_experiment",
    "load_experiment_files",
    "load_experiments",
    "markdown_summary",
    "periods_of",
    "quantile_levels",
    "ratio",
    "ratio_metrics",
    "run_nightly_allocation",
    "run_nightly_analysis",
    "save_report",
    "text_summary",
]
