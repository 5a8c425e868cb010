"""PII redaction quality and speed: flywheel.tasks.redact against a naive-regex baseline, same run.

Quality: span-level recall and precision per entity type on presidio-research's labeled
synthetic corpus (definitions in tasks/redaction_quality.py and docs/exports.md). False
positives in the wild: detections in ~5,000 real instruction/response texts from
Self-Instruct, Tulu-1 and AlpacaEval, which contain (almost) no personal data. Speed: texts per
second over the presidio corpus, best of 5.

    python bench/redaction.py            # prints the markdown for BENCHMARKS.md
"""

from __future__ import annotations

import json
import os
import platform
import re
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import ClassVar

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flywheel.tasks.redact import ENTITY_TYPES, Redactor, Span  # noqa: E402
from flywheel.tasks.redaction_quality import GOLD_TYPES, SpanFinder, load_corpus, score_corpus  # noqa: E402

DATA = ROOT.parent / "shared" / "data"


class NaiveRegexes:
    """The baseline: one plain regex per type, no checksums, no context, same overlap rule."""

    PATTERNS: ClassVar[dict[str, re.Pattern[str]]] = {
        "EMAIL": re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+"),
        "IBAN": re.compile(r"\b[A-Za-z]{2}\d{2}[A-Za-z0-9]{10,30}\b"),
        "CREDIT_CARD": re.compile(r"\b(?:\d[ -]?){12,18}\d\b"),
        "US_SSN": re.compile(r"\b\d{3}-\d{2}-\d{4}\b"),
        "IP_ADDRESS": re.compile(r"\b\d{1,3}(?:\.\d{1,3}){3}\b"),
        "PHONE": re.compile(r"\+?\(?\d[\d\-. ()]{5,}\d"),
    }

    def find(self, text: str) -> list[Span]:
        accepted: list[Span] = []
        for entity_type in ENTITY_TYPES:
            pattern = self.PATTERNS.get(entity_type)
            for m in pattern.finditer(text) if pattern else ():
                if not any(m.start() < s.end and s.start < m.end() for s in accepted):
                    accepted.append(Span(m.start(), m.end(), entity_type))
        return sorted(accepted, key=lambda s: s.start)


def wild_texts() -> list[str]:
    """Real instructions and responses (Self-Instruct, Tulu-1 completions, AlpacaEval)."""
    feedback = DATA / "feedback"
    texts: list[str] = []
    for line in (feedback / "self_instruct_user_oriented_instructions.jsonl").open():
        task = json.loads(line)
        texts.append(task["instruction"])
        texts += [i["input"] for i in task["instances"]] + [i["output"] for i in task["instances"]]
    for line in (feedback / "tulu1_eval_instances.jsonl").open():
        texts += [c["completion"] for c in json.loads(line)["completions"]]
    alpaca = feedback / "alpaca_eval_gpt35_turbo_instruct_vs_text_davinci_003_gpt4judge.json"
    for item in json.loads(alpaca.read_text()):
        texts += [item["instruction"], item["output_1"], item["output_2"]]
    return [t for t in texts if t]


def held_out_texts() -> list[str]:
    """Open-Assistant conversation messages: never looked at while the detectors were written."""
    texts: list[str] = []

    def walk(message: dict) -> None:
        texts.append(message["text"])
        for reply in message.get("replies") or []:
            walk(reply)

    for line in (DATA / "feedback" / "oasst_en_100_tree.jsonl").open():
        walk(json.loads(line)["prompt"])
    return texts


def speed(new_finder: Callable[[], SpanFinder], texts: list[str], repeats: int = 5) -> float:
    """Texts per second, best of ``repeats``, each with a new finder: a Redactor remembers the
    texts it has seen, and every text here is new to it."""
    best = float("inf")
    for _ in range(repeats):
        finder = new_finder()
        started = time.perf_counter()
        for text in texts:
            finder.find(text)
        best = min(best, time.perf_counter() - started)
    return len(texts) / best


def fmt(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def main() -> None:
    records = load_corpus(DATA / "pii" / "presidio_research_synth_dataset_v2.json")
    ours, naive = Redactor(), NaiveRegexes()
    our_scores, our_errors = score_corpus(records, ours)
    naive_scores, _ = score_corpus(records, naive)
    wild = wild_texts()
    our_wild = Counter(s.entity_type for t in wild for s in ours.find(t))
    naive_wild = Counter(s.entity_type for t in wild for s in naive.find(t))
    held_out = held_out_texts()
    our_held = [(s.entity_type, t[s.start:s.end]) for t in held_out for s in ours.find(t)]
    naive_held = Counter(s.entity_type for t in held_out for s in naive.find(t))
    corpus_texts = [r["full_text"] for r in records]
    our_speed, naive_speed = speed(Redactor, corpus_texts), speed(NaiveRegexes, corpus_texts)

    print(f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.system()} "
          f"{platform.release()}, Python {platform.python_version()}.")
    print(f"Corpus: {len(records)} texts, presidio-research synth_dataset_v2. "
          f"Wild texts: {len(wild)} ({sum(map(len, wild)) / 1e6:.1f} M characters).\n")
    print("| type (presidio) | gold spans | recall exact | precision exact | recall overlap "
          "| precision overlap | covered | baseline recall exact | baseline precision exact |")
    print("|---|---|---|---|---|---|---|---|---|")
    for presidio, ours_type in GOLD_TYPES.items():
        s, b = our_scores[ours_type].to_dict(), naive_scores[ours_type].to_dict()
        print(f"| {ours_type} ({presidio}) | {s['gold']} | {fmt(s['recall_exact'])} | "
              f"{fmt(s['precision_exact'])} | {fmt(s['recall_overlap'])} | "
              f"{fmt(s['precision_overlap'])} | {fmt(s['covered'])} | "
              f"{fmt(b['recall_exact'])} | {fmt(b['precision_exact'])} |")
    print("\nErrors of flywheel.tasks.redact on the corpus:")
    for error in our_errors:
        print(f"- {error['kind']} {error['type']}: {error['text']!r}")
    print("\n| detections in the wild texts | flywheel.tasks.redact | baseline |")
    print("|---|---|---|")
    for entity in ENTITY_TYPES:
        print(f"| {entity} | {our_wild.get(entity, 0)} | {naive_wild.get(entity, 0)} |")
    print(f"\nHeld-out texts (Open-Assistant, {len(held_out)} messages): flywheel.tasks.redact found "
          f"{len(our_held)} spans, the baseline {sum(naive_held.values())} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(naive_held.items())) or 'none'}).")
    for entity, text in our_held:
        print(f"- {entity}: {text!r}")
    print(f"\nSpeed: {our_speed:,.0f} texts/s (flywheel.tasks.redact) vs {naive_speed:,.0f} texts/s "
          f"(baseline): ratio {our_speed / naive_speed:.2f}.")


if __name__ == "__main__":
    main()
