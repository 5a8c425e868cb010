"""Realistic sample traffic for the demo, the tests and the benchmarks.

``SampleSpec`` says what to generate; ``write_sample_data`` (numpy, imported on first use)
writes it.
"""

from flywheel.tasks._faces import lazy_face

# the public name -> the private module that defines it; other packages import only these
_EXPORTS = {
    "FRIENDLY_OPENERS": "flywheel.tasks.sample_data._content",
    "SUPPORT_QA": "flywheel.tasks.sample_data._content",
    "write_project": "flywheel.tasks.sample_data._generate",
    "write_sample_data": "flywheel.tasks.sample_data._generate",
    "ClosedLoopApp": "flywheel.tasks.sample_data._loop",
    "DayStats": "flywheel.tasks.sample_data._loop",
    "loop_truth": "flywheel.tasks.sample_data._loop",
    "SampleSpec": "flywheel.tasks.sample_data._spec",
}

__all__, __getattr__ = lazy_face(__name__, _EXPORTS)
