"""What the three exports share: their tools built from settings, drop accounting, dedup, and
the run around them (:class:`ExportRun`: begun with a window and a folder, finished by writing
the files, the manifest last, and a ledger row)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.export._evalsets import EvalCase, LeakageGuard, read_eval_cases
from flywheel.tasks.export._output import earlier_keys, record_run, save_keys, write_export
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
        self.last: tuple[str, tuple[str, ...]] | None = None  # what the last add counted

    def add(self, category: str, *reasons: str, n: int = 1) -> None:
        """Count ``n`` dropped candidates under ``category`` (and its reason, if it has one)."""
        self.last = (category, reasons)
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
    """Remembers examples by exact and by normalized key; the first one seen is kept.
    ``earlier``: the keys earlier nights' parts wrote, by key kind (``exact``, ``normalized``)."""

    def __init__(self, earlier: Mapping[str, frozenset[str]] | None = None) -> None:
        self._exact: set[str] = set()
        self._normalized: set[str] = set()
        self._earlier = earlier or {}

    def duplicate_of(self, exact: str, normalized: str) -> str | None:
        """``exact`` or ``normalized`` if already seen in this run, ``earlier_night`` if an
        earlier night's part wrote it (then the example is dropped), else None."""
        if exact in self._exact:
            return "exact"
        if normalized in self._normalized:
            return "normalized"
        if exact in self._earlier.get("exact", ()) or \
                normalized in self._earlier.get("normalized", ()):
            return "earlier_night"
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
    """One export under way: its settings, window, folder, tools and the drops counted so far;
    for a night's part (``night``), the dedup keys earlier nights' parts wrote (``earlier``)."""

    settings: Settings
    window: Window
    out_dir: Path
    tools: Tools
    drops: Drops
    night: date | None = None
    earlier: Mapping[str, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def begin(
        cls, settings: Settings, out: str | Path, window: Window | None,
        layout: Mapping[str, tuple[str, ...] | None], *, night: date | None = None,
        kind: str = "", tools: Tools | None = None,
    ) -> ExportRun:
        """The window (everything when None), the absolute folder, the tools (``tools``, or
        built from ``settings``), empty drops reported by ``layout``; for a night's part, the
        keys of ``kind`` earlier parts wrote."""
        earlier = earlier_keys(settings, kind, night) if night else {}
        return cls(settings, window or Window(), output_dir(out),
                   tools or Tools.from_settings(settings), Drops(layout), night, earlier)

    def leaked(self, category: str, texts: list[str], n: int = 1) -> bool:
        """Whether ``texts`` match an eval-set case; if so ``n`` candidates are counted under
        ``category``."""
        leak = self.tools.guard.check(texts)
        if leak:
            self.drops.add(category, leak.kind, n=n)
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
        self, kind: str, files: Mapping[str, list[dict[str, Any]]], manifest: dict[str, Any],
        keys: Mapping[str, list[str]] | None = None,
    ) -> dict[str, Any]:
        """Write the files and the manifest, add the ledger row and, for a night's part, its
        dedup ``keys`` (by key kind); returns the summary."""
        written = write_export(self.out_dir, files, manifest)
        ledger = record_run(self.settings, kind, self.out_dir, written, self.drops.total)
        if self.night is not None:
            save_keys(self.settings, kind, self.night, keys or {})
        return summary_of(kind, self.out_dir, written, ledger)
