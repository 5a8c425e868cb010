"""The sample project's experiment files (``flywheel demo`` copies them)."""
