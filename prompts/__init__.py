"""The sample project's prompt files (``flywheel demo`` and ``flywheel sample-data`` copy them)."""
