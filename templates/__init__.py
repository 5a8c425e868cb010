"""Jinja2 templates of the promotion reports (package data: ``flywheel.tasks.reports._render`` reads them)."""
