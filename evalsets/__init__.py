"""The sample project's eval sets and their Python checks (``flywheel demo`` copies them)."""
