"""What the three exports share: their tools built from settings, drop accounting, dedup, and
the run around them (:class:`ExportRun`: begun with a window and a folder, finished by writing
the files, the manifest last, and a ledger row)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.export._evalsets import EvalCase, LeakageGuard, read_eval_cases
from flywheel.tasks.export._output import record_run, write_export
from flywheel.tasks.export._select import Window
from flywheel.tasks.export._text import sha256_hex
from flywheel.tasks.export._validate import Validator
from flywheel.tasks.redact import Redactor


@dataclass
class Tools:
    """The redactor, validator and leakage guard one export run uses."""

    redactor: Redactor
    validator: Validator
    guard: LeakageGuard
    cases: list[EvalCase]
    evalsets: list[dict[str, Any]]

    @classmethod
    def from_settings(cls, settings: Settings) -> Tools:
        """Build them from the configuration (eval sets read from ``<project>/evalsets``)."""
        redactor = Redactor(settings.redact.types, settings.redact.allow)
        folder = settings.dir("evalsets")
        cases = read_eval_cases(folder)
        per_file = Counter(c.file for c in cases)
        evalsets = [
            {"file": name, "cases": n, "sha256": sha256_hex((folder / name).read_text("utf-8"))}
            for name, n in sorted(per_file.items())
        ]
        return cls(
            redactor=redactor,
            validator=Validator(settings.export.model, settings.export.token_limit()),
            guard=LeakageGuard(cases, redactor, settings.export.leakage_threshold),
            cases=cases,
            evalsets=evalsets,
        )

    def filters(self, settings: Settings, window: Mapping[str, Any]) -> dict[str, Any]:
        """The settings that decided what was exported, for the manifest."""
        return {
            **window,
            **self.validator.settings(),
            "leakage_threshold": self.guard.threshold,
            "evalsets": self.evalsets,
            "redaction": {"types": list(self.redactor.types),
                          "allow_list_entries": len(self.redactor.allow)},
        }


# Drop categories each export always reports: a tuple names the reasons counted inside the
# category (an empty tuple: reasons as they come); None: the category is a single number.
TRAINING_DROPS: dict[str, tuple[str, ...] | None] = {
    "not_rebuildable": (), "invalid": (), "too_long": None,
    "duplicate": ("exact", "normalized"), "in_evalset": ("exact", "near"),
}


class Drops:
    """Candidates not written, by category and reason; each candidate counted once in total."""

    def __init__(self, layout: Mapping[str, tuple[str, ...] | None]) -> None:
        """``layout``: the categories reported even when nothing was dropped for them."""
        self.layout = dict(layout)
        self.counts: dict[str, Counter[str]] = {
            c: Counter(dict.fromkeys(reasons or (), 0)) for c, reasons in self.layout.items()}
        self.total = 0
        self.evalset_cases: set[str] = set()

    def add(self, category: str, *reasons: str, n: int = 1) -> None:
        """Count ``n`` dropped candidates under ``category`` (and its reason, if it has one)."""
        self.layout.setdefault(category, () if reasons else None)
        counter = self.counts.setdefault(category, Counter())
        for reason in reasons or (category,):
            counter[reason] += n
        self.total += n

    def to_dict(self) -> dict[str, Any]:
        """Plain sorted dictionaries; single-number categories as a number."""
        return {
            c: self.counts[c][c] if self.layout[c] is None
            else dict(sorted(self.counts[c].items()))
            for c in sorted(self.layout)
        }


class Deduplicator:
    """Remembers examples by exact and by normalized key; the first one seen is kept."""

    def __init__(self) -> None:
        self._exact: set[str] = set()
        self._normalized: set[str] = set()

    def duplicate_of(self, exact: str, normalized: str) -> str | None:
        """``exact`` or ``normalized`` if already seen (then the example is dropped), else None."""
        if exact in self._exact:
            return "exact"
        if normalized in self._normalized:
            return "normalized"
        self._exact.add(exact)
        self._normalized.add(normalized)
        return None


def iso(value: datetime | None) -> str | None:
    """A timestamp as ISO 8601 (UTC as stored)."""
    return value.isoformat() if value else None


def date_range(values: Iterable[datetime]) -> dict[str, str | None]:
    """First and last of some timestamps."""
    values = list(values)
    return {"first": iso(min(values)) if values else None,
            "last": iso(max(values)) if values else None}


def prompt_versions(pairs: Iterable[tuple[str | None, str | None]]) -> list[dict[str, Any]]:
    """How many examples came from each (prompt name, version hash)."""
    counts = Counter(pairs)
    return [
        {"name": name, "hash": digest, "examples": n}
        for (name, digest), n in sorted(
            counts.items(), key=lambda kv: (kv[0][0] or "", kv[0][1] or ""))
    ]


def output_dir(out: str | Path) -> Path:
    """The export folder, absolute."""
    return Path(out).expanduser().resolve()


def summary_of(
    kind: str, out_dir: Path, manifest: dict[str, Any], ledger: dict[str, Any]
) -> dict[str, Any]:
    """What the command prints and the flow publishes: counts, drops, files, ledger."""
    return {
        "kind": kind,
        "out_dir": str(out_dir),
        "examples": manifest["examples"],
        "candidates": manifest["candidates"],
        "files": {name: {"lines": f["lines"], "sha256": f["sha256"]}
                  for name, f in manifest["files"].items()},
        "dropped": manifest["dropped"],
        "dropped_total": manifest["dropped_total"],
        "manifest": str(out_dir / "manifest.json"),
        **ledger,
    }


@dataclass(frozen=True)
class ExportRun:
    """One export under way: its settings, window, folder, tools and the drops counted so far."""

    settings: Settings
    window: Window
    out_dir: Path
    tools: Tools
    drops: Drops

    @classmethod
    def begin(
        cls, settings: Settings, out: str | Path, window: Window | None,
        layout: Mapping[str, tuple[str, ...] | None],
    ) -> ExportRun:
        """The window (everything when None), the absolute folder, the tools, empty drops
        reported by ``layout``."""
        return cls(settings, window or Window(), output_dir(out), Tools.from_settings(settings),
                   Drops(layout))

    def leaked(self, category: str, texts: list[str]) -> bool:
        """Whether ``texts`` match an eval-set case; if so it is counted under ``category``."""
        leak = self.tools.guard.check(texts)
        if leak:
            self.drops.add(category, leak.kind)
            self.drops.evalset_cases.add(leak.case)
        return bool(leak)

    def filters(self, **extra: Any) -> dict[str, Any]:
        """The manifest's ``filters``: the window and tool settings, then ``extra``."""
        return {**self.tools.filters(self.settings, self.window.describe()), **extra}

    def accounting(self, redactions: Mapping[str, int]) -> dict[str, Any]:
        """The manifest's fields on what was dropped and what was redacted in what was kept."""
        return {
            "dropped": self.drops.to_dict(),
            "dropped_total": self.drops.total,
            "evalset_cases_matched": sorted(self.drops.evalset_cases),
            "redactions": dict(sorted(redactions.items())),
        }

    def finish(
        self, kind: str, files: Mapping[str, list[dict[str, Any]]], manifest: dict[str, Any]
    ) -> dict[str, Any]:
        """Write the files and the manifest, add the ledger row; returns the summary."""
        written = write_export(self.out_dir, files, manifest)
        ledger = record_run(self.settings, kind, self.out_dir, written, self.drops.total)
        return summary_of(kind, self.out_dir, written, ledger)
