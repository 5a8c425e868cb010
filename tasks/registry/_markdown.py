"""Markdown summaries of registry changes (label moves, syncs), for Prefect artifacts."""

from __future__ import annotations

import re
from typing import Any

from flywheel.tasks.registry._catalog import short


def artifact_key(*parts: str) -> str:
    """A Prefect artifact key (lowercase letters, digits, dashes) from free-form parts."""
    return "-".join(re.sub(r"[^a-z0-9]+", "-", p.lower()).strip("-") for p in parts if p)


def _cell(text: Any) -> str:
    return str(text if text is not None else "-").replace("|", "\\|").replace("\n", " ")


def move_markdown(result: dict[str, Any]) -> str:
    """What a promote/rollback did: the label, from → to, who, why, and the content diff."""
    name, label, move = result["name"], result["label"], result.get("move")
    ref = f"{name}@{label}"
    if move is None:
        return (f"# {ref}: unchanged\n\n`{ref}` already pointed to `{short(result['to_hash'])}`; "
                "nothing was recorded.\n")
    action = move["action"]
    origin = f"`{short(move['from_hash'])}`" if move["from_hash"] else "(new label)"
    lines = [
        f"# {action.capitalize()}: {ref}", "",
        "| | |", "|---|---|",
        f"| label | `{ref}` |",
        f"| from | {origin} |",
        f"| to | `{short(move['to_hash'])}` |",
        f"| move | #{move['move_id']} ({action}) |",
        f"| by | {_cell(move['moved_by'])} |",
        f"| reason | {_cell(move['reason'])} |",
        f"| at | {move['moved_at']} |",
    ]
    if move.get("undoes_move_id"):
        lines.append(f"| undoes | move #{move['undoes_move_id']} |")
    lines += ["", f"Full hashes: from `{move['from_hash'] or '-'}` to `{move['to_hash']}`."]
    if result.get("diff"):
        lines += ["", "## What changed in the content", "", "```diff", result["diff"], "```"]
    elif move["from_hash"]:
        lines += ["", "The two versions have identical content."]
    undo = (f"flywheel prompts rollback {name} --label {label}" if action != "rollback"
            else f"flywheel prompts history {name}")
    lines += ["", f"Next: `{undo}`"]
    return "\n".join(lines) + "\n"


def sync_markdown(summary: dict[str, Any]) -> str:
    """What a sync registered, which labels it placed, and which files it refused."""
    lines = [
        f"# Prompt sync: {summary.get('folder') or 'files'}", "",
        f"{summary['files_seen']} file(s): {len(summary['registered'])} new version(s), "
        f"{len(summary['unchanged'])} already registered, {summary['files_invalid']} invalid.",
    ]
    if summary["registered"]:
        lines += ["", "## New versions", "", "| name | hash | file |", "|---|---|---|"]
        lines += [f"| {_cell(r['name'])} | `{short(r['hash'])}` | {_cell(r['file'])} |"
                  for r in summary["registered"]]
    if summary["labels_created"]:
        lines += ["", "## Labels placed (declared in the file, did not exist yet)", ""]
        lines += [f"- `{r['name']}@{r['label']}` → `{short(r['hash'])}` ({_cell(r['file'])})"
                  for r in summary["labels_created"]]
    moved = [r for r in summary["labels_kept"] if not r["declared_is_current"]]
    if moved:
        lines += ["", "## Declared labels left where they are (moved by promote/rollback)", ""]
        lines += [f"- `{r['name']}@{r['label']}` is at `{short(r['current_hash'])}`; "
                  f"{_cell(r['file'])} declares `{short(r['hash'])}`" for r in moved]
    if summary["errors"]:
        lines += ["", "## Invalid files (not registered)", "", "| file | line | key | problem |",
                  "|---|---|---|---|"]
        lines += [f"| {_cell(e['file'])} | {_cell(e['line'])} | {_cell(e['key'])} | "
                  f"{_cell(e['message'])} |" for e in summary["errors"]]
    links = summary.get("links")
    if links and links["requests"]:
        lines += ["", "## Requests linked to versions", "",
                  f"{links['resolved']} of {links['requests']} requests resolve to a registered "
                  f"version; {links['unknown']} carry a hash the registry does not know, "
                  f"{links['ambiguous']} an ambiguous prefix, {links['no_hash']} no hash."]
        if links["unlinked"]:
            lines += ["", "| logged hash | status | requests | prompt names | e.g. |",
                      "|---|---|---|---|---|"]
            lines += [f"| `{r['logged_hash']}` | {r['link_status']} | {r['requests']} | "
                      f"{_cell(', '.join(r['prompt_names']))} | "
                      f"{_cell(', '.join(r['example_request_ids']))} |" for r in links["unlinked"]]
    return "\n".join(lines) + "\n"
