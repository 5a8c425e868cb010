"""How flywheel's demo model answers: a small, documented rule table, deterministic per prompt.

It is a stand-in for a real model so that the demo and the tests run offline; nothing here is
meant to be smart. The rules, first match wins:

1. **Judge prompts** (the system message is flywheel's judge prompt): a JSON verdict. The
   rubric's terms are its quoted phrases (``'14 days'``) or, with none quoted, its words of four
   or more letters that are not stop words; ``score`` is the share of terms found in the OUTPUT
   (case-insensitive), rounded to 2 decimals; ``reason`` names the terms found and missing.
2. **Optimizer prompts** (the system message is flywheel's optimizer prompt,
   ``tasks/optimize/_rewrite.py``): the current system prompt (between ``<<<`` and ``>>>``)
   with a policy section: one line ``- Q: <question> A: <correction>`` per case shown (the
   input's longest line is the question), merged with the policy lines it already has (a
   question already there keeps its first answer), in the order of the questions.
3. **Support questions** (a user message line ``Customer question: ...``):
   * a policy stated in the system prompt (a line ``- Q: ... A: ...``) whose question is close
     to this one (rapidfuzz ``ratio`` >= 90, case-insensitive) is followed: its answer;
   * otherwise a few-shot example helps only a question close to it: an example (a user
     message of the prompt before the last, with its ``Customer question:`` line) whose
     question is close to this one (rapidfuzz ``token_set_ratio`` >= 75, case-insensitive: two
     different questions of the bank score at most 69, the same question with other slot
     values or a pasted e-mail address 85 or more) makes the model answer as the example does:
     for a question of the policy bank (``tasks/sample_data/_content.py``, ``token_set_ratio``
     >= 70) the bank's *corrected* (accurate) answer, for any other question the closest
     example's answer, copied;
   * otherwise the closest question of the policy bank: its original answer (older, partly
     wrong policy: that is what production logs show);
   * a system prompt asking to be *warm* puts a friendly opener first (chosen by the question);
   * an ``Order: X`` line adds ``Your order reference is X.``;
   * no close question: ``I'm not sure about that. I can open a ticket ...``.
4. **Summaries** (the user message starts with ``Summarize``): the text after the first line,
   split into sentences. ``bullet`` in the instruction: the first three sentences as ``- ``
   bullets and a ``Next steps:`` line; ``one sentence``: the first sentence, cut to ``at most N
   words`` when asked; ``two sentences``: the first two; ``JSON``: ``{"summary": first}``;
   otherwise the first sentence.
5. Anything else: the first sentence of the last user message.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
from collections.abc import Sequence
from typing import Any

from rapidfuzz import fuzz

from flywheel.tasks.evals import JUDGE_SYSTEM
from flywheel.tasks.optimize import OPTIMIZER_SYSTEM
from flywheel.tasks.sample_data import FRIENDLY_OPENERS, SUPPORT_QA

DEMO_MODEL = "flywheel-demo-model"
DEMO_FINGERPRINT = "flywheel-demo"
NOT_SURE = "I'm not sure about that. I can open a ticket so a specialist can look into it."
NEXT_STEPS = "Next steps: reproduce the issue, then escalate to the owning team."
_SENTENCE_END = re.compile(r"(?<=[.!?。])\s+")
POLICY_HEADER = "Policies learned from corrections (follow them when a question matches):"
_QUESTION = re.compile(r"^Customer question:\s*(.+)$", re.MULTILINE)
EXAMPLE_CLOSE = 75  # token_set_ratio: the same question reworded; different ones score <= 69
_POLICY_LINE = re.compile(r"^- Q: (.+?) A: (.+)$", re.MULTILINE)
_CASE = re.compile(r"^INPUT: (.*?)\nANSWER: .*?\nCORRECTION: (.*?)(?=\n\nCASE \d+\n|\n\nReply with|\Z)",
                   re.MULTILINE | re.DOTALL)
_STOP_WORDS = frozenset({
    "that", "this", "with", "from", "have", "been", "does", "into", "your", "their", "there",
    "what", "when", "which", "about", "answer", "answers", "mentions", "mention", "says",
    "states", "output", "should", "must", "response",
})


def _text(message: dict[str, Any]) -> str:
    value = message.get("content")
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # content parts
        return " ".join(p.get("text", "") for p in value if isinstance(p, dict))
    return ""


def sentences(text: str) -> list[str]:
    """The text split after ``.``, ``!``, ``?`` (and ``。``) followed by white space."""
    return [s.strip() for s in _SENTENCE_END.split(text.strip()) if s.strip()]


def _stable_index(text: str, n: int) -> int:
    return int(hashlib.sha256(text.encode("utf-8")).hexdigest()[:8], 16) % n


def answer(messages: Sequence[dict[str, Any]]) -> str:
    """The demo model's reply to a conversation (see the module docstring for the rules)."""
    system = " ".join(_text(m) for m in messages if m.get("role") == "system")
    users = [_text(m) for m in messages if m.get("role") == "user"]
    last = users[-1] if users else ""
    if system.startswith(JUDGE_SYSTEM[:40]):
        return json.dumps(judge_verdict(last), ensure_ascii=False)
    if system.startswith(OPTIMIZER_SYSTEM[:40]):
        return revised_system(last)
    question = _QUESTION.search(last)
    if question:
        order = re.search(r"^Order:\s*(\S+)", last, re.MULTILINE)
        return support_answer(question.group(1).strip(), order.group(1) if order else None,
                              warm="warm" in system.lower(), examples=examples(messages),
                              policies=policies(system))
    if last.lstrip().startswith("Summarize"):
        instruction, _, text = last.partition("\n")
        return summary(instruction, text)
    first = sentences(last)
    return first[0] if first else "…"


def policies(system: str) -> dict[str, str]:
    """The policy lines of a system prompt: question → answer (the first answer of a question)."""
    found: dict[str, str] = {}
    for question, reply in _POLICY_LINE.findall(system):
        found.setdefault(question.strip(), reply.strip())
    return found


def examples(messages: Sequence[dict[str, Any]]) -> dict[str, str]:
    """The few-shot examples of a support conversation: each ``Customer question:`` of a user
    message before the last → the assistant message that follows it."""
    found: dict[str, str] = {}
    for shown, reply in itertools.pairwise(messages):
        if shown.get("role") != "user" or reply.get("role") != "assistant":
            continue
        question = _QUESTION.search(_text(shown))
        if question:
            found.setdefault(question.group(1).strip(), _text(reply))
    return found


def revised_system(optimizer_user_message: str) -> str:
    """Rule 2: the current system prompt with the shown cases merged into its policy section."""
    current = optimizer_user_message.split("<<<\n", 1)[-1].split("\n>>>", 1)[0]
    known = policies(current)
    kept = "\n".join(line for line in current.splitlines()
                     if line != POLICY_HEADER and not _POLICY_LINE.match(line)).rstrip()
    for text, correction in _CASE.findall(optimizer_user_message):
        question = max(text.splitlines() or [text], key=len).strip()
        known.setdefault(question, " ".join(correction.split()))
    lines = [f"- Q: {q} A: {a}" for q, a in sorted(known.items())]
    return "\n".join([kept, "", POLICY_HEADER, *lines]) if lines else kept


def support_answer(question: str, order_id: str | None, *, warm: bool,
                   examples: dict[str, str] | None = None,
                   policies: dict[str, str] | None = None) -> str:
    """Rule 3: a policy the system prompt states, else a close few-shot example, else an answer
    from the policy bank."""
    text = NOT_SURE
    lowered = question.lower()
    stated = [(fuzz.ratio(lowered, q.lower()), a) for q, a in (policies or {}).items()]
    close = [item for item in stated if item[0] >= 90]
    shown = [(fuzz.token_set_ratio(lowered, q.lower()), a) for q, a in (examples or {}).items()]
    near = [item for item in shown if item[0] >= EXAMPLE_CLOSE]
    best, best_score = None, 0.0
    for entry in SUPPORT_QA:
        score = fuzz.token_set_ratio(lowered, entry[0].lower())
        if score > best_score:
            best, best_score = entry, score
    in_bank = best is not None and best_score >= 70
    if close:
        text = max(close, key=lambda item: item[0])[1]
    elif near:
        text = best[2] if in_bank and best is not None else max(near, key=lambda item: item[0])[1]
    elif in_bank and best is not None:
        text = best[1]
    if warm:
        openers = FRIENDLY_OPENERS
        text = openers[_stable_index(question, len(openers))] + text
    if order_id:
        text += f" Your order reference is {order_id}."
    return text


def summary(instruction: str, text: str) -> str:
    """Rule 4: a summary made of the text's first sentences."""
    parts = sentences(text) or [text.strip()]
    lowered = instruction.lower()
    if "bullet" in lowered:
        return "\n".join([*(f"- {s}" for s in parts[:3]), NEXT_STEPS])
    if "json" in lowered:
        return json.dumps({"summary": parts[0]}, ensure_ascii=False)
    if "two sentences" in lowered:
        return " ".join(parts[:2])
    first = parts[0]
    limit = re.search(r"at most (\d+) words", lowered)
    if limit:
        words = first.split()
        if len(words) > int(limit.group(1)):
            first = " ".join(words[: int(limit.group(1))]).rstrip(",;:") + "."
    return first


def judge_verdict(judge_user_message: str) -> dict[str, Any]:
    """Rule 1: the verdict for a judge prompt (``RUBRIC:`` … ``OUTPUT:`` sections)."""
    rubric_match = re.search(r"RUBRIC:\n(.*?)\n\nINPUT VARIABLES:", judge_user_message, re.DOTALL)
    output = judge_user_message.split("\n\nOUTPUT:\n", 1)[-1]
    rubric = rubric_match.group(1) if rubric_match else ""
    terms = re.findall(r"'([^']+)'|\"([^\"]+)\"", rubric)
    wanted = [a or b for a, b in terms] or [
        w for w in re.findall(r"[A-Za-zÀ-ÿ]{4,}", rubric) if w.lower() not in _STOP_WORDS
    ]
    if not wanted:
        return {"score": 0.0, "reason": "the rubric names nothing to look for"}
    found = [t for t in wanted if t.lower() in output.lower()]
    missing = [t for t in wanted if t not in found]
    reason = f"found {len(found)} of {len(wanted)} rubric terms"
    if missing:
        reason += f"; missing: {', '.join(missing)}"
    return {"score": round(len(found) / len(wanted), 2), "reason": reason}


def count_tokens(text: str) -> int:
    """A rough token count (one token per four characters, at least one)."""
    return max(1, (len(text) + 3) // 4)
