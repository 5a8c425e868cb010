"""The demo model's documented rule table (tasks/demo_model/_rules.py)."""

from __future__ import annotations

import json

from flywheel.tasks.demo_model._rules import NEXT_STEPS, NOT_SURE, answer
from flywheel.tasks.evals._judge import judge_messages, parse_verdict
from flywheel.tasks.sample_data import _content as content

QUESTION, ORIGINAL, CORRECTED = content.SUPPORT_QA[0]
TICKET = content.TICKETS[0][0]


def user(text: str) -> dict[str, str]:
    return {"role": "user", "content": text}


def support(question: str, *, system: str = "Be accurate.",
            few_shot: tuple[tuple[str, str], ...] = (), order: str | None = None) -> str:
    messages = [{"role": "system", "content": system}]
    for shown, reply in few_shot:
        messages += [user(f"Customer question: {shown}\nOrder: A-9\nAnswer briefly."),
                     {"role": "assistant", "content": reply}]
    order_line = f"Order: {order}\n" if order else ""
    return answer([*messages, user(f"Customer question: {question}\n{order_line}Answer briefly.")])


def test_support_answers_come_from_the_policy_bank() -> None:
    assert support(QUESTION) == ORIGINAL
    assert support("How can I get a refund for my invoice?") == ORIGINAL  # close paraphrase
    warm = support(QUESTION, system="Be warm and reassuring.")
    assert warm.endswith(ORIGINAL) and warm != ORIGINAL
    assert warm[: -len(ORIGINAL)] in content.FRIENDLY_OPENERS
    assert support(QUESTION, order="A-1").endswith("Your order reference is A-1.")
    assert support("Do you sell domain names?") == NOT_SURE
    assert support(QUESTION) == support(QUESTION)  # deterministic


def test_a_few_shot_example_helps_only_questions_close_to_it() -> None:
    refund = ((QUESTION, CORRECTED),)
    assert support(QUESTION, few_shot=refund) == CORRECTED
    pasted = QUESTION + content.PII_SNIPPETS[0]  # the same question, an address pasted in
    assert support(pasted, few_shot=refund) == CORRECTED
    backups, original_backups, corrected_backups = content.SUPPORT_QA[5]
    assert support(backups, few_shot=refund) == original_backups  # not close: no help
    assert support(backups, few_shot=((backups, corrected_backups), *refund)) == corrected_backups
    # A question outside the bank copies its close example's answer; a far one is not helped.
    ssl = content.SUPPORT_QA_UNCURATED[0][0].format(domain="shop.example.com", days="3")
    other = content.SUPPORT_QA_UNCURATED[0][0].format(domain="example.io", days="20")
    assert support(other, few_shot=((ssl, "They renew."),)) == "They renew."
    assert support(other) == NOT_SURE
    assert support("Do you sell domain names?", few_shot=((ssl, "They renew."),)) == NOT_SURE


def test_summaries_take_the_first_sentences() -> None:
    sentences = TICKET.split(". ")
    assert answer([user(f"Summarize the following ticket in two sentences:\n{TICKET}")]) == (
        f"{sentences[0]}. {sentences[1]}.")
    one = answer([user(f"Summarize in one sentence of at most 8 words:\n{TICKET}")])
    assert one == " ".join(sentences[0].split()[:8]) + "."
    bullets = answer([user(f"Summarize as three bullet points:\n{TICKET}")]).splitlines()
    assert [b[:2] for b in bullets[:3]] == ["- "] * 3 and bullets[3] == NEXT_STEPS
    assert json.loads(answer([user(f"Summarize as JSON:\n{TICKET}")])) == {
        "summary": sentences[0] + "."}


def test_judge_prompts_get_a_valid_verdict_from_the_rubric_terms() -> None:
    reply = answer(judge_messages("Mentions 'refund' and '14 days'", CORRECTED, {}))
    assert parse_verdict(reply).score == 1.0
    half = parse_verdict(answer(judge_messages("Mentions 'refund' and '14 days'", ORIGINAL, {})))
    assert half.score == 0.5 and "missing: 14 days" in half.reason
    words = parse_verdict(answer(judge_messages("Explains the refund deadline", CORRECTED, {})))
    assert 0 < words.score < 1  # unquoted: share of the rubric's content words found


def test_anything_else_gets_its_first_sentence_back() -> None:
    assert answer([user("Hello there. How are you?")]) == "Hello there."


def test_a_policy_stated_in_the_system_prompt_is_followed() -> None:
    from flywheel.tasks.demo_model._rules import POLICY_HEADER

    system = f"Be accurate.\n\n{POLICY_HEADER}\n- Q: {QUESTION} A: Refunds take 14 days."
    assert support(QUESTION, system=system) == "Refunds take 14 days."
    assert support("Do you offer backups?", system=system) == content.SUPPORT_QA[5][1]  # not close


def test_the_optimizer_merges_the_cases_into_the_policy_section() -> None:
    from flywheel.tasks.optimize import OPTIMIZER_SYSTEM
    from flywheel.tasks.optimize._pairs import Pair
    from flywheel.tasks.optimize._rewrite import optimizer_messages

    pair = Pair({"question": QUESTION, "order_id": "A-1"}, "", ORIGINAL, CORRECTED, 3, ("f",), ())
    first = answer(optimizer_messages("Be accurate.", [pair]))
    assert first.startswith("Be accurate.") and f"- Q: {QUESTION} A: {CORRECTED}" in first
    again = answer(optimizer_messages(first, [pair]))
    assert again == first  # a question already stated keeps its policy; nothing repeats
    assert answer([{"role": "system", "content": OPTIMIZER_SYSTEM}, user("no cases")]) == "no cases"
