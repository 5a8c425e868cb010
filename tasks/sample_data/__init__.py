"""Realistic sample traffic for the demo, the tests and the benchmarks.

``SampleSpec`` says what to generate; ``write_sample_data`` (numpy, imported on first use)
writes it.
"""

from typing import Any

from flywheel.tasks.sample_data.spec import SampleSpec

__all__ = ["SampleSpec", "write_sample_data"]


def __getattr__(name: str) -> Any:
    if name == "write_sample_data":
        from flywheel.tasks.sample_data.generate import write_sample_data

        return write_sample_data
    raise AttributeError(name)
