"""Experiment files (docs/contracts.md, "Formats": experiment files): the examples load; a bad
file names the file and the key."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from flywheel.tasks.ab import (
    ExperimentFileError,
    load_experiment,
    load_experiment_files,
    load_experiments,
)
from flywheel.tasks.errors import UsageError

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[2]
GOOD = """\
name: tone-test
variants:
  control: support@production
  friendly: "support:1a2b3c4d5e6f"
weights: {control: 0.5, friendly: 0.5}
start: 2026-11-01
end: null
primary_metric: thumbs_up_rate
guardrails:
  - {metric: latency_p95_ms, worse_if: increase, max_relative_change: 0.10}
alpha: 0.05
mde: 0.05
sequential: {enabled: false, tuning: 5000}
multiple_testing: holm
"""


def write(tmp_path: Path, text: str, name: str = "tone-test") -> Path:
    path = tmp_path / f"{name}.yaml"
    path.write_text(text)
    return path


def test_the_example_experiments_load() -> None:
    experiments = load_experiments(REPO / "experiments")
    assert {e.name for e in experiments} == {"tone-test", "summary-length"}
    tone = next(e for e in experiments if e.name == "tone-test")
    assert tone.control == "control" and tone.treatments == ["friendly"]
    assert tone.sequential and tone.sequential_tuning == 5000
    summary = next(e for e in experiments if e.name == "summary-length")
    assert summary.weights == pytest.approx((1 / 3, 1 / 3, 1 / 3))
    assert summary.start == datetime(2026, 11, 3, tzinfo=UTC)


def test_a_good_file_is_read_with_its_defaults(tmp_path: Path) -> None:
    exp = load_experiment(write(tmp_path, GOOD.replace("alpha: 0.05\n", "")))
    assert exp.alpha == 0.05 and exp.multiple_testing == "holm" and not exp.sequential
    assert exp.guardrails[0].metric == "latency_p95_ms"
    assert load_experiments(tmp_path / "missing") == []


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("primary_metric: thumbs_up_rate", "primary_metric: happiness"), "primary_metric"),
        (("  friendly: \"support:1a2b3c4d5e6f\"", "  friendly: \"not a ref!\""),
         "variants.friendly"),
        (("weights: {control: 0.5, friendly: 0.5}", "weights: {control: 1}"), "weights"),
        (("weights: {control: 0.5, friendly: 0.5}", "weights: {control: 1, friendly: x}"),
         "weights.friendly"),
        (("end: null", "end: 2026-10-01"), "end"),
        (("start: 2026-11-01", "start: someday"), "start"),
        (("alpha: 0.05", "alpha: 0.7"), "alpha"),
        (("mde: 0.05", "mde: -1"), "mde"),
        (("tuning: 5000", "tuning: 0"), "sequential.tuning"),
        (("multiple_testing: holm", "multiple_testing: bonferroni"), "multiple_testing"),
        (("max_relative_change: 0.10", "max_relative_change: 0.1, oops: 1"), "guardrails[0]"),
        (("worse_if: increase", "worse_if: sideways"), "guardrails[0].worse_if"),
        (("name: tone-test", "name: other"), "name"),
        (("alpha: 0.05", "alpha: 0.05\nprimary: x"), "primary"),
    ],
)
def test_a_bad_file_is_a_usage_error_naming_file_and_key(
    tmp_path: Path, change: tuple[str, str], key: str
) -> None:
    old, new = change
    assert old in GOOD
    path = write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(UsageError) as err:
        load_experiments(tmp_path)
    assert str(path) in str(err.value) and f": {key}:" in str(err.value)
    assert err.value.exit_code == 2
    lines = GOOD.replace(old, new).splitlines()
    line = next(i for i, text in enumerate(lines, 1) if new.splitlines()[-1] in text)
    assert f"{path}:{line}: {key}:" in str(err.value)  # the line of the key at fault


def test_broken_yaml_names_the_line(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD.replace("alpha: 0.05", "alpha: [0.05"))
    with pytest.raises(UsageError, match=rf"{path}:12: not valid YAML"):
        load_experiment(path)


def test_missing_required_keys_are_named(tmp_path: Path) -> None:
    without = {
        "start": GOOD.replace("start: 2026-11-01\n", ""),
        "primary_metric": GOOD.replace("primary_metric: thumbs_up_rate\n", ""),
        "variants": GOOD.replace("  control: support@production\n", ""),
    }
    for key, text in without.items():
        with pytest.raises(UsageError, match=rf": {key}:"):
            load_experiment(write(tmp_path, text))


def test_a_key_given_twice_is_refused_with_its_line(tmp_path: Path) -> None:
    """Issue 23: YAML keeps the last of two ``control:`` keys, so the control arm would serve
    the treatment's version; the file is refused instead, like a prompt file."""
    text = GOOD.replace('  friendly: "support:1a2b3c4d5e6f"\n',
                        '  friendly: "support:1a2b3c4d5e6f"\n  control: "support:1a2b3c4d5e6f"\n')
    path = write(tmp_path, text)
    with pytest.raises(ExperimentFileError) as err:
        load_experiment(path)
    assert (err.value.file, err.value.line, err.value.key) == (str(path), 5, "variants.control")
    assert "duplicate key (first given on line 3)" in str(err.value)
    assert err.value.exit_code == 2


@pytest.mark.parametrize("weights", ["{control: 0.5, friendly: 0.6}", "{control: 1, friendly: 1}"])
def test_weights_that_do_not_sum_to_one_are_refused_not_rescaled(
        tmp_path: Path, weights: str) -> None:
    path = write(tmp_path, GOOD.replace("weights: {control: 0.5, friendly: 0.5}",
                                        f"weights: {weights}"))
    with pytest.raises(ExperimentFileError, match=rf"{path}:5: weights: must sum to 1"):
        load_experiment(path)


def test_one_bad_file_costs_only_its_experiment(tmp_path: Path) -> None:
    write(tmp_path, GOOD)
    write(tmp_path, GOOD.replace("name: tone-test", "name: broken").replace(
        "alpha: 0.05", "alpha: [0.05"), name="broken")
    loaded, problems = load_experiment_files(tmp_path)
    assert list(loaded) == ["tone-test"] and list(problems) == ["broken"]
    assert problems["broken"].line == 12
    with pytest.raises(ExperimentFileError, match=r"broken\.yaml:12"):
        load_experiments(tmp_path)  # the commands that read every file still refuse it
