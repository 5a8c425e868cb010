"""Span-level recall and precision of :mod:`flywheel.tasks.redact` on a labeled PII corpus.

The corpus format is presidio-research's: a JSON list of ``{full_text, spans: [{entity_type,
start_position, end_position, entity_value}]}`` with ``end_position`` exclusive.

Definitions (also in docs/exports.md):

* A *gold span* is a labeled span whose presidio type maps to one of ours (:data:`GOLD_TYPES`).
* A *predicted span* is a detection of :meth:`Redactor.find` on the same text.
* **exact** match: same type and the same ``[start, end)`` offsets.
* **overlap** match: same type and at least one character in common.
* recall = matched gold spans / gold spans; precision = matched predicted spans / predicted
  spans, per type. Every predicted span that matches no gold span of its type is a false
  positive, including unlabeled real PII and type confusions (conservative).
* **covered** (the privacy view): the share of gold spans whose every character lies inside
  some predicted span of any type, i.e. the value would not survive redaction.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from flywheel.tasks.redact import Span

# presidio entity type -> our entity type
GOLD_TYPES: dict[str, str] = {
    "EMAIL_ADDRESS": "EMAIL",
    "PHONE_NUMBER": "PHONE",
    "CREDIT_CARD": "CREDIT_CARD",
    "IBAN_CODE": "IBAN",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
}


class SpanFinder(Protocol):
    """Anything that finds typed spans in a text, like :class:`flywheel.tasks.redact.Redactor`."""

    def find(self, text: str) -> list[Span]:
        """Non-overlapping detections, in order."""
        ...


@dataclass
class TypeScore:
    """Counts for one entity type; the ratios are properties."""

    gold: int = 0
    predicted: int = 0
    gold_exact: int = 0
    gold_overlap: int = 0
    predicted_exact: int = 0
    predicted_overlap: int = 0
    gold_covered: int = 0

    @staticmethod
    def _ratio(num: int, den: int) -> float | None:
        return num / den if den else None

    def to_dict(self) -> dict[str, Any]:
        """Counts and ratios (None where the denominator is 0)."""
        return {
            "gold": self.gold, "predicted": self.predicted,
            "recall_exact": self._ratio(self.gold_exact, self.gold),
            "precision_exact": self._ratio(self.predicted_exact, self.predicted),
            "recall_overlap": self._ratio(self.gold_overlap, self.gold),
            "precision_overlap": self._ratio(self.predicted_overlap, self.predicted),
            "covered": self._ratio(self.gold_covered, self.gold),
        }


def load_corpus(path: Path) -> list[dict[str, Any]]:
    """The labeled texts of a presidio-research style JSON file."""
    return json.loads(path.read_text(encoding="utf-8"))


def _gold_spans(record: dict[str, Any]) -> list[Span]:
    return [
        Span(s["start_position"], s["end_position"], GOLD_TYPES[s["entity_type"]])
        for s in record["spans"] if s["entity_type"] in GOLD_TYPES
    ]


def _overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def score_corpus(
    records: list[dict[str, Any]], redactor: SpanFinder
) -> tuple[dict[str, TypeScore], list[dict[str, Any]]]:
    """Per-type scores over ``records`` and the list of errors (misses and false positives)."""
    scores = {t: TypeScore() for t in GOLD_TYPES.values()}
    errors: list[dict[str, Any]] = []
    for index, record in enumerate(records):
        text = record["full_text"]
        gold = _gold_spans(record)
        predicted = [p for p in redactor.find(text) if p.entity_type in scores]
        everything = redactor.find(text)
        for g in gold:
            s = scores[g.entity_type]
            s.gold += 1
            same = [p for p in predicted if p.entity_type == g.entity_type]
            s.gold_exact += any((p.start, p.end) == (g.start, g.end) for p in same)
            hit = any(_overlaps(p, g) for p in same)
            s.gold_overlap += hit
            s.gold_covered += all(
                any(p.start <= i < p.end for p in everything) for i in range(g.start, g.end)
            )
            if not hit:
                errors.append({"record": index, "kind": "missed", "type": g.entity_type,
                               "text": text[g.start:g.end]})
        for p in predicted:
            s = scores[p.entity_type]
            s.predicted += 1
            same = [g for g in gold if g.entity_type == p.entity_type]
            s.predicted_exact += any((p.start, p.end) == (g.start, g.end) for g in same)
            hit = any(_overlaps(p, g) for g in same)
            s.predicted_overlap += hit
            if not hit:
                errors.append({"record": index, "kind": "false_positive", "type": p.entity_type,
                               "text": text[p.start:p.end]})
    return scores, errors
