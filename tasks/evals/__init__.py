"""Offline evaluation of prompt versions against eval sets (CONTRACTS §8)."""
