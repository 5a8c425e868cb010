"""The version the router chose for one request, which the request logger records."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Choice:
    """The version chosen for one request. Unpacks to ``(variant, hash)``.

    ``experiment`` is what to log in the request's ``experiment`` field (None: the request is
    not part of an experiment; then ``variant`` is the label or the control's name and is not
    logged). ``content`` is the version's canonical content (read it, do not change it).
    """

    subject: str
    variant: str
    hash: str
    prompt_name: str
    experiment: str | None
    content: Mapping[str, Any]
    generation: int

    def __iter__(self) -> Iterator[str]:
        yield self.variant
        yield self.hash

    @property
    def model(self) -> str:
        """The model the version names."""
        return str(self.content.get("model", ""))

    @property
    def params(self) -> dict[str, Any]:
        """The version's call parameters (temperature, max_tokens, ...), for the model call."""
        return dict(self.content.get("params") or {})

    def log_fields(self) -> dict[str, str]:
        """The request fields (docs/contracts.md, "Log formats") that say what was served."""
        fields = {"prompt_name": self.prompt_name, "prompt_hash": self.hash}
        if self.experiment is not None:
            fields |= {"experiment": self.experiment, "variant": self.variant}
        return fields
