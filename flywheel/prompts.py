"""Prompt versions for applications, straight from the registry's DuckDB file (no Prefect)::

    from flywheel import prompts
    version = prompts.get("support@production")        # cached in-process, re-read after 30 s
    messages = prompts.render(version, {"question": "How do I get a refund?"})
    # log prompt_name=version.name, prompt_hash=version.hash with the request

The store is ``$FLYWHEEL_DB`` (else ``./flywheel.duckdb``); ``PromptRegistry(path)`` reads another.
Caching and what happens while the nightly run writes: docs/registry.md.
"""

from flywheel.tasks.registry import PromptRegistry, PromptVersion, default_registry, get, refresh, render

__all__ = ["PromptRegistry", "PromptVersion", "default_registry", "get", "refresh", "render"]
