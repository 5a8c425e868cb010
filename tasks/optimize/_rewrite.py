"""The instruction rewrite: the optimizer model is shown the current system prompt and the
failing cases with their corrections, and answers with a revised system prompt.

The call goes through the evals' path (``tasks/evals``: the ``openai`` client, its retries,
the ``eval_cache`` and the price table), so a rerun of the same night is answered from the cache
at no cost. The budget (``optimize_budget_usd`` per prompt and night) is checked before the call
on an upper estimate (every character a token at most, ``max_tokens`` of output): cases are
dropped, least-failing first, until the estimate fits; none fitting skips the rewrite.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from flywheel.tasks.config import Settings
from flywheel.tasks.evals import (
    CallSpec,
    NoEndpointError,
    cache_key,
    call_options,
    call_phase,
    cost_usd,
    endpoint_for,
    in_process_executor,
    price_of,
)
from flywheel.tasks.export import vars_text
from flywheel.tasks.optimize._pairs import Pair

OPTIMIZER_SYSTEM = (
    "You improve the system prompt of an LLM application from the corrections its users "
    "wrote. Keep what the current system prompt says unless a correction contradicts it; add "
    "the facts and policies the corrections teach, stated generally and briefly. Reply with "
    "only the revised system prompt, no commentary."
)
MAX_OUTPUT_TOKENS = 1200
MAX_SYSTEM_CHARS = 12000
PARAMS: dict[str, Any] = {"temperature": 0.0, "max_tokens": MAX_OUTPUT_TOKENS}


@dataclass(frozen=True)
class Rewrite:
    """The optimizer's revised system prompt, or why there is none."""

    system: str | None
    cases: int  # the cases it was shown
    cost_usd: float | None
    cached: bool
    model: str
    note: str | None = None
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


def optimizer_messages(system: str, pairs: Sequence[Pair]) -> list[dict[str, str]]:
    """The chat messages asking for a revised system prompt."""
    cases = "\n\n".join(
        f"CASE {i}\nINPUT: {vars_text(p.variables)}\nANSWER: {p.output or '(none)'}\n"
        f"CORRECTION: {p.corrected}" for i, p in enumerate(pairs, start=1))
    user = (f"CURRENT SYSTEM PROMPT:\n<<<\n{system}\n>>>\n\nFAILING CASES (the input, the "
            f"answer given, the correction a person wrote):\n\n{cases}\n\nReply with only the "
            "revised system prompt.")
    return [{"role": "system", "content": OPTIMIZER_SYSTEM}, {"role": "user", "content": user}]


def _estimate(settings: Settings, messages: Sequence[Mapping[str, str]]) -> float:
    price = price_of(settings.prices, settings.optimize_model) or (0.0, 0.0)
    chars = sum(len(m["content"]) for m in messages)
    return cost_usd(price, chars, MAX_OUTPUT_TOKENS) or 0.0


def rewrite_system(settings: Settings, prompt_name: str, system: str,
                   pairs: Sequence[Pair]) -> Rewrite:
    """Ask the optimizer model for a revised system prompt (within the night's budget)."""
    model = settings.optimize_model
    chosen = list(pairs[: settings.optimize_rewrite_cases])
    while chosen and _estimate(settings, optimizer_messages(system, chosen)) > settings.optimize_budget_usd:
        chosen.pop()
    if not chosen:
        return Rewrite(None, 0, 0.0, False, model,
                       note="no corrected case" if not pairs else
                       f"over the budget of ${settings.optimize_budget_usd:g} even with one case")
    try:
        endpoint = endpoint_for(settings, prompt_name)
    except NoEndpointError as exc:
        return Rewrite(None, 0, 0.0, False, model, note=str(exc))
    messages = optimizer_messages(system, chosen)
    key = cache_key(endpoint.base_url, model, messages, PARAMS, 0)
    spec = CallSpec(key, endpoint, model, tuple(messages), dict(PARAMS))
    results, _ = call_phase(settings, {key: spec}, in_process_executor(call_options(settings, 1)),
                            "optimizer", no_cache=False)
    result = results[key]
    if not result.ok:
        return Rewrite(None, len(chosen), 0.0, False, model, note=f"optimizer call failed: {result.error}")
    price = price_of(settings.prices, result.response_model, model)
    cost = 0.0 if result.cached else cost_usd(price, result.prompt_tokens, result.completion_tokens)
    revised = (result.output or "").strip()
    if not revised or len(revised) > MAX_SYSTEM_CHARS:
        return Rewrite(None, len(chosen), cost, result.cached, model,
                       note=f"the optimizer's reply is {'empty' if not revised else 'too long'}")
    return Rewrite(revised, len(chosen), cost, result.cached, model,
                   prompt_tokens=result.prompt_tokens, completion_tokens=result.completion_tokens)
