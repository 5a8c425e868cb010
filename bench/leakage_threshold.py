"""Where the eval-leakage threshold (rapidfuzz similarity 90) sits between "different case" and
"the same case, lightly edited", measured on the 252 distinct Self-Instruct tasks.

    python bench/leakage_threshold.py
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

import numpy as np
from rapidfuzz import fuzz, process

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from flywheel.tasks.export._text import normalize  # noqa: E402

TASKS = ROOT.parent / "shared/data/feedback/self_instruct_user_oriented_instructions.jsonl"


def edited(text: str, share: float, rng: random.Random) -> str:
    """``text`` with ``share`` of its characters replaced at random (at least one)."""
    chars = list(text)
    for _ in range(max(1, int(len(chars) * share))):
        chars[rng.randrange(len(chars))] = rng.choice("abcdefghijklmnopqrstuvwxyz")
    return "".join(chars)


def main() -> None:
    tasks = [json.loads(line) for line in TASKS.open()]
    texts = [normalize(t["instruction"] + "\n" + t["instances"][0]["input"]) for t in tasks]
    print(f"{len(texts)} distinct tasks (instruction + input, normalized)")
    for name, scorer in (("ratio", fuzz.ratio), ("partial_ratio", fuzz.partial_ratio)):
        scores = process.cdist(texts, texts, scorer=scorer)
        np.fill_diagonal(scores, 0)
        print(f"- {name} between different tasks: max {scores.max():.1f}, "
              f"pairs >= 90: {int((scores >= 90).sum()) // 2}")
    rng = random.Random(0)
    for share in (0.02, 0.05, 0.10):
        scores = [fuzz.ratio(t, edited(t, share, rng)) for t in texts]
        print(f"- ratio after replacing {share:.0%} of the characters: min {min(scores):.1f}, "
              f"mean {np.mean(scores):.1f}")


if __name__ == "__main__":
    main()
