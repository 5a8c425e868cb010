"""The example project that ``flywheel demo`` and ``flywheel sample-data`` start from: the
repository's ``prompts/``, ``evalsets/`` and ``experiments/`` folders, installed as package data."""
