"""Offline evaluation of prompt versions against eval sets (docs/contracts.md, "Offline evaluation")."""

from flywheel.tasks._faces import lazy_face

# the public name -> the private module that defines it; other packages import only these
_EXPORTS = {
    "BatchOutcome": "flywheel.tasks.evals._client",
    "CallOptions": "flywheel.tasks.evals._client",
    "CallSpec": "flywheel.tasks.evals._client",
    "Endpoint": "flywheel.tasks.evals._client",
    "run_calls": "flywheel.tasks.evals._client",
    "Agreement": "flywheel.tasks.evals._calibration",
    "JudgeCheck": "flywheel.tasks.evals._calibration",
    "agreement": "flywheel.tasks.evals._calibration",
    "agreement_markdown": "flywheel.tasks.evals._calibration",
    "calibrate": "flywheel.tasks.evals._calibration",
    "cohens_kappa": "flywheel.tasks.evals._calibration",
    "Confusion": "flywheel.tasks.evals._calibration",
    "judge_checks": "flywheel.tasks.evals._calibration",
    "rogan_gladen": "flywheel.tasks.evals._calibration",
    "diff_runs": "flywheel.tasks.evals._diff",
    "format_diff": "flywheel.tasks.evals._diff",
    "GateOptions": "flywheel.tasks.evals._gate",
    "gate_markdown": "flywheel.tasks.evals._gate",
    "gate_verdict": "flywheel.tasks.evals._gate",
    "junit_xml": "flywheel.tasks.evals._gate",
    "run_gate": "flywheel.tasks.evals._gate",
    "cache_key": "flywheel.tasks.evals._cache",
    "load_evalset": "flywheel.tasks.evals._evalset",
    "JUDGE_SYSTEM": "flywheel.tasks.evals._judge",
    "EvalJob": "flywheel.tasks.evals._nightly",
    "candidate_jobs": "flywheel.tasks.evals._nightly",
    "nightly_run_id": "flywheel.tasks.evals._nightly",
    "stored_run": "flywheel.tasks.evals._nightly",
    "format_summary": "flywheel.tasks.evals._report",
    "call_options": "flywheel.tasks.evals._runner",
    "call_phase": "flywheel.tasks.evals._runner",
    "cost_usd": "flywheel.tasks.evals._runner",
    "price_of": "flywheel.tasks.evals._runner",
    "endpoint_for": "flywheel.tasks.evals._runner",
    "checked_base_url": "flywheel.tasks.evals._runner",
    "NoEndpointError": "flywheel.tasks.evals._runner",
    "in_process_executor": "flywheel.tasks.evals._runner",
    "run_eval": "flywheel.tasks.evals._runner",
    "PythonChecks": "flywheel.tasks.evals._scorers",
    "pass_hat_k": "flywheel.tasks.evals._stats",
}

__all__, __getattr__ = lazy_face(__name__, _EXPORTS)
