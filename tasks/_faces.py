"""A domain package's public face: the names other packages may use, each loaded on first use.

A package's ``__init__`` declares its face once, as a table of public name -> the private module
that defines it, and takes its ``__all__`` and module ``__getattr__`` from :func:`lazy_face`.
Nothing is imported until a name is used, so importing a face costs what importing the one
module behind the name costs: the serving client (standard library and jinja2) can take
``render_messages`` from the registry's face without loading DuckDB.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any


def lazy_face(package: str, exports: Mapping[str, str]) -> tuple[list[str], Callable[[str], Any]]:
    """``(__all__, __getattr__)`` for ``package``, whose public names live in ``exports``
    (name -> full module name); a name once loaded is kept in the package's namespace."""

    def load(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(sys.modules[package], name, value)
        return value

    return sorted(exports), load
