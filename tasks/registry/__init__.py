"""The content-addressed prompt registry."""
