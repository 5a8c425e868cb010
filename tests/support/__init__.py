"""Helpers the tests share: fixtures' builders, fake servers and clients, sample projects."""
