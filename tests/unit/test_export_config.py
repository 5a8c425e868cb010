"""The [export] and [redact] tables of flywheel.toml."""

from __future__ import annotations

from pathlib import Path

import pytest

from flywheel.tasks.config import Settings, load_settings
from flywheel.tasks.errors import UsageError

pytestmark = pytest.mark.unit


def settings_with(tmp_path: Path, toml: str) -> Settings:
    (tmp_path / "flywheel.toml").write_text(toml, "utf-8")
    return load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)


def test_export_and_redact_tables_are_read(tmp_path: Path) -> None:
    settings = settings_with(tmp_path, """
[export]
model = "gpt-3.5-turbo-0125"
validation_share = 0.2
include_rated = true
leakage_threshold = 85
hard_examples_per_prompt = 7
[export.token_limits]
"my-ft-model" = 32768
[redact]
types = ["email", "SECRET"]
allow = ["support@acme.example"]
""")
    export = settings.export
    assert (export.model, export.validation_share, export.include_rated) == (
        "gpt-3.5-turbo-0125", 0.2, True)
    assert (export.leakage_threshold, export.hard_examples_per_prompt) == (85.0, 7)
    assert export.token_limit() == 16385 and export.token_limit("my-ft-model-v2") == 32768
    assert settings.redact.types == ("EMAIL", "SECRET")
    assert settings.redact.allow == ("support@acme.example",)


def test_defaults_without_a_toml(tmp_path: Path) -> None:
    settings = load_settings(db=tmp_path / "f.duckdb", project_dir=tmp_path)
    assert settings.export.model == "gpt-4o-mini" and settings.export.token_limit() == 65536
    assert settings.export.validation_share == 0.1 and not settings.export.include_rated
    assert settings.redact.types is None and settings.redact.allow == ()


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ("[export]\nsplit = 0.2\n", "unknown [export] setting(s): split"),
        ("[export]\nvalidation_share = 1.5\n", "validation_share must be in [0, 1)"),
        ("[export]\ninclude_rated = \"yes\"\n", "include_rated must be true or false"),
        ("[export]\nleakage_threshold = 0\n", "leakage_threshold must be in (0, 100]"),
        ("[redact]\nkinds = []\n", "[redact] takes only `types` and `allow`"),
    ],
)
def test_bad_values_name_the_file_and_the_key(tmp_path: Path, toml: str, message: str) -> None:
    with pytest.raises(UsageError) as error:
        settings_with(tmp_path, toml)
    assert message in str(error.value) and "flywheel.toml" in str(error.value)
