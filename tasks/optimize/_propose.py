"""One prompt's proposal for a night, and the night's proposals (the ``optimize`` step).

Idempotent: the corrections as of the end of the night, the parent (``NAME@production``) and the
eval sets decide the pairs; the optimizer's reply comes from the cache on a rerun; so the same
night gives the same content, the same hash, the same file, and no new row or label move.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from flywheel.tasks.ab import as_of_moment
from flywheel.tasks.config import OPTIMIZE_METHODS, Settings
from flywheel.tasks.db import connect, fetch_dicts
from flywheel.tasks.errors import UsageError
from flywheel.tasks.optimize._fewshot import candidate_spec
from flywheel.tasks.optimize._pairs import Curation, curate_pairs
from flywheel.tasks.optimize._register import register_candidate
from flywheel.tasks.optimize._rewrite import Rewrite, rewrite_system
from flywheel.tasks.registry import SHORT_HASH_LEN, PromptVersion, promote, prompt_hash, resolve

PRODUCTION, CANDIDATE = "production", "candidate"
OPTIMIZE_ACTOR = "flywheel-optimize"


@dataclass(frozen=True)
class Proposal:
    """What proposing did for one prompt."""

    name: str
    method: str
    status: str  # proposed (a new version) | unchanged (proposed before) | skipped
    reason: str
    hash: str | None = None
    parent_hash: str | None = None
    file: str | None = None
    corrections: int = 0
    feedback_days: tuple[str, ...] = ()
    excluded_cases: tuple[str, ...] = ()
    cost_usd: float | None = None
    optimizer_model: str | None = None
    candidate_label_moved: bool = False
    notes: tuple[str, ...] = ()
    commands: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def next_commands(name: str, digest: str) -> tuple[str, ...]:
    """The steps the automation would take, as commands for a person (no ``[auto.NAME]``)."""
    ref = f"{name}:{digest[:SHORT_HASH_LEN]}"
    return (f"flywheel prompts promote {name} {ref} --label {CANDIDATE}  "
            "# the nightly offline eval compares it with production",
            f"flywheel prompts promote {name} {ref} --ramp 0.1,0.5,1  "
            "# after an offline win: a ramp the nightly A/B guards")


def _parent(con: duckdb.DuckDBPyConnection, name: str, until: datetime) -> PromptVersion:
    """``NAME@production`` as it was just before ``until`` (so a rerun of a night builds on
    what the first run built on); the current one when the history has no move before it."""
    rows = fetch_dicts(con, "optimize/label_as_of",
                       {"name": name, "label": PRODUCTION, "until": until})
    return resolve(con, rows[0]["to_hash"] if rows else f"{name}@{PRODUCTION}")


def _curations(settings: Settings, name: str, method: str, until: datetime
               ) -> tuple[PromptVersion, Curation | None, Curation | None]:
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        parent = _parent(con, name, until)
        fewshot = (curate_pairs(con, settings, name, parent.content, until,
                                settings.optimize_fewshot_k)
                   if method in ("fewshot", "all") else None)
        # the rewrite states policies; it may learn them from any corrected case
        shown = (curate_pairs(con, settings, name, parent.content, until,
                              settings.optimize_rewrite_cases, guard_leaks=False)
                 if method in ("rewrite", "all") else None)
    return parent, fewshot, shown


def _provenance(parent: PromptVersion, method: str, fewshot: Curation | None,
                shown: Curation | None, rewrite: Rewrite | None, run_date: date | None
                ) -> dict[str, Any]:
    used = [*(fewshot.pairs if fewshot else []),
            *(shown.pairs[: rewrite.cases] if rewrite and rewrite.system else [])]
    return {
        "parent_hash": parent.hash, "method": method,
        "feedback_ids": sorted({f for p in used for f in p.feedback_ids}),
        "feedback_days": sorted({d for p in used for d in p.days}),
        "excluded_cases": sorted({e["case"] for e in (fewshot.excluded_leaks if fewshot else [])}),
        "optimizer_model": rewrite.model if rewrite and rewrite.system else None,
        "cost_usd": rewrite.cost_usd if rewrite else None, "built_for": run_date,
        "details": {
            "few_shot_pairs": len(fewshot.pairs) if fewshot else 0,
            "rewrite_cases": rewrite.cases if rewrite and rewrite.system else 0,
            "excluded_leaks": fewshot.excluded_leaks if fewshot else [],
            "near_duplicates": fewshot.near_duplicates if fewshot else 0,
            "redactions": {**(fewshot.redactions if fewshot else {})},
            "optimizer_cached": rewrite.cached if rewrite else None,
            "optimizer_tokens": [rewrite.prompt_tokens, rewrite.completion_tokens] if rewrite else None,
        },
    }


def propose(settings: Settings, name: str, method: str = "all", run_date: date | None = None,
            *, label_candidate: bool = False, now: datetime | None = None) -> Proposal:
    """Propose a candidate for ``name`` from its feedback before the end of ``run_date``
    (default: now); with ``label_candidate``, point ``name@candidate`` at it."""
    if method not in OPTIMIZE_METHODS:
        raise UsageError(f"--method {method!r}: expected one of {', '.join(OPTIMIZE_METHODS)}")
    now = now or datetime.now(UTC)
    until = as_of_moment(run_date) or now
    parent, fewshot, shown = _curations(settings, name, method, until)
    rewrite = rewrite_system(settings, name, str(parent.content.get("system", "")),
                             shown.pairs) if shown is not None else None
    notes = tuple(n for n in [rewrite.note if rewrite else None] if n)
    pairs = len(fewshot.pairs) if fewshot else 0
    corrections = max(pairs, rewrite.cases if rewrite and rewrite.system else 0)
    base = {"name": name, "method": method, "parent_hash": parent.hash, "notes": notes}
    if rewrite is not None and rewrite.system is None and shown is not None and shown.pairs:
        # a candidate without its rewrite would be another candidate: a rerun of the night
        # without the endpoint must not propose it
        return Proposal(**base, status="skipped", corrections=corrections,
                        reason=f"the rewrite did not run: {rewrite.note}")
    if corrections < settings.optimize_min_corrections:
        return Proposal(**base, status="skipped", corrections=corrections,
                        reason=f"{corrections} usable correction(s); needs "
                               f"{settings.optimize_min_corrections}")
    spec = candidate_spec(name, parent.content, few_shot=fewshot.pairs if fewshot else None,
                          system=rewrite.system if rewrite else None,
                          description=f"Generated by flywheel optimize ({method}) on "
                                      f"{parent.short} from the users' corrections.")
    if prompt_hash(spec) == parent.hash:
        return Proposal(**base, status="skipped", corrections=corrections,
                        reason="the proposal equals production")
    provenance = _provenance(parent, method, fewshot, shown, rewrite, run_date)
    with connect(settings.db_path, timeout_s=settings.db_lock_timeout_s) as con:
        digest, path, new = register_candidate(con, settings, spec, provenance,
                                               by=OPTIMIZE_ACTOR, now=now)
        moved = False
        later = fetch_dicts(con, "optimize/label_moved_after",
                            {"name": name, "label": CANDIDATE, "until": until})[0]["moves"]
        if label_candidate and not later:
            move = promote(con, name, digest, label=CANDIDATE, by=f"{OPTIMIZE_ACTOR}:{method}",
                           now=now, reason=_label_reason(provenance, parent))
            moved = move.move is not None
    return Proposal(
        **base, status="proposed" if new else "unchanged",
        reason="a new version" if new else "proposed before (same hash)", hash=digest,
        file=str(path.relative_to(settings.project_dir)), corrections=len(provenance["feedback_ids"]),
        feedback_days=tuple(provenance["feedback_days"]),
        excluded_cases=tuple(provenance["excluded_cases"]), cost_usd=provenance["cost_usd"],
        optimizer_model=provenance["optimizer_model"], candidate_label_moved=moved,
        commands=() if label_candidate else next_commands(name, digest))


def _label_reason(provenance: dict[str, Any], parent: PromptVersion) -> str:
    days = provenance["feedback_days"]
    span = f"{days[0]} … {days[-1]}" if days else "no day"
    excluded = provenance["excluded_cases"]
    return (f"generated ({provenance['method']}) on {parent.short} from "
            f"{len(provenance['feedback_ids'])} correction(s) of {span}; "
            f"{len(excluded)} eval case(s) kept out of its few-shot examples"
            + (f" ({', '.join(excluded[:5])})" if excluded else ""))


def propose_night(settings: Settings, run_date: date) -> dict[str, Any]:
    """The night's proposals: one per prompt that opts in (``[auto.NAME]``), its candidate label
    moved to the proposal when the policy automates (``promote = true``)."""
    proposals = []
    for name, policy in sorted(settings.auto.items()):
        try:
            proposal = propose(settings, name, policy.method, run_date,
                               label_candidate=policy.promote, now=as_of_moment(run_date))
        except UsageError as exc:  # e.g. no production version yet: that prompt only
            proposal = Proposal(name=name, method=policy.method, status="skipped", reason=str(exc))
        proposals.append(proposal.to_dict())
    return {"run_date": run_date.isoformat(), "proposals": proposals,
            "proposed": sum(p["status"] == "proposed" for p in proposals)}
