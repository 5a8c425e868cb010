"""flywheel: a nightly Prefect workflow over a DuckDB store that makes an LLM application better.

What an application imports (neither loads Prefect; ``serving`` loads no DuckDB either)::

    from flywheel import prompts    # prompt versions from the registry: get, render, refresh
    from flywheel import serving    # the serving snapshot: Router (choose, render), RequestLogger

The command line is ``flywheel`` (or ``python -m flywheel``); the nightly flows are in
``flywheel.flows`` and the work they do in ``flywheel.tasks``.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("flywheel")
except PackageNotFoundError:  # imported from a checkout that was never installed
    __version__ = "0+unknown"

__all__ = ["__version__", "prompts", "serving"]
