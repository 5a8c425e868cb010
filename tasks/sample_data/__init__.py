"""Realistic sample traffic for the demo, the tests and the benchmarks."""

from flywheel.tasks.sample_data.generate import SampleSpec, write_sample_data

__all__ = ["SampleSpec", "write_sample_data"]
