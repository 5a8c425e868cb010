"""How often the nightly monitoring raises an alert on nights where nothing changed.

    python bench/monitoring_false_alarms.py [--seeds 10] [--days 30] [--first 10] [--users 3000]
    python bench/monitoring_false_alarms.py --per-test   # the same, also without the night's
                                                          # family-wise (Holm) correction

Each seed is a demo-like sample project (``SampleSpec(seed=…)``: the demo's prompts, both
experiments, no planted anomaly) of ``--days`` days, ingested into its own DuckDB store with its
prompts registered; then the monitoring computation itself (``run_monitoring``, no Prefect, no
other step) judges every night from day ``--first`` on, each against its trailing baseline.
Default: 10 seeds × 20 nights = 200 unperturbed nights. It prints the share of nights with any
alert (the target is at most 5%), the alerts by kind, and every alert's message.

``--per-test`` also counts, from the same nights, the alerts of the earlier rule (each metric ×
version at one-sided 0.00135, no correction across the night): the p-values in the messages are
the per-test ones, so a night's alerts under that rule are re-derived by running the monitoring
with the family correction disabled (``family_adjusted`` replaced by the identity).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from datetime import timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _project(root: Path, seed: int, days: int, users: int):
    from flywheel.tasks.commands import sync_prompt_files
    from flywheel.tasks.config import load_settings
    from flywheel.tasks.ingest import ingest_paths
    from flywheel.tasks.sample_data import SampleSpec, write_sample_data

    spec = SampleSpec(days=days, users=users, seed=seed)
    folder = root / f"seed-{seed}"
    write_sample_data(folder, spec)
    settings = load_settings(db=folder / "flywheel.duckdb", project_dir=folder)
    sync_prompt_files(settings, str(folder / "prompts"), None, None)
    ingest_paths(settings, [settings.landing])
    return settings, spec


def _nights(settings, spec, first: int) -> list[dict]:
    from flywheel.tasks.monitor import run_monitoring

    out = []
    for day in range(first, spec.days):
        result = run_monitoring(settings, spec.start + timedelta(days=day))
        out.append({"run_date": result.run_date.isoformat(),
                    "alerts": [a.to_dict() for a in result.alerts]})
    return out


def main() -> int:
    """Run the nights and print the false-alarm rate."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--first", type=int, default=10, help="first judged day (0-based)")
    parser.add_argument("--users", type=int, default=3000)
    parser.add_argument("--per-test", action="store_true")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO))
    from flywheel.tasks.monitor import _rules

    rules = {"family-wise (Holm per night)": _rules.family_adjusted}
    if args.per_test:
        rules["per test (no correction)"] = lambda p: list(p)
    results: dict[str, list[dict]] = {name: [] for name in rules}
    with tempfile.TemporaryDirectory(prefix="fw-monitor-bench-") as tmp:
        for seed in range(1, args.seeds + 1):
            settings, spec = _project(Path(tmp), seed, args.days, args.users)
            for name, adjust in rules.items():
                _rules.family_adjusted = adjust
                results[name] += _nights(settings, spec, args.first)
    summary = {}
    for name, nights in results.items():
        alerted = [n for n in nights if n["alerts"]]
        summary[name] = {
            "nights": len(nights), "nights_with_an_alert": len(alerted),
            "share": len(alerted) / len(nights) if nights else None,
            "alerts_by_kind": dict(Counter(a["kind"] for n in nights for a in n["alerts"])),
            "alerts": [a["message"] for n in alerted for a in n["alerts"]],
        }
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    for name, s in summary.items():
        print(f"{name}: {s['nights_with_an_alert']} of {s['nights']} unperturbed nights with an "
              f"alert ({s['share']:.1%}); by kind {s['alerts_by_kind'] or 'none'}")
        for message in s["alerts"]:
            print(f"  {message}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
