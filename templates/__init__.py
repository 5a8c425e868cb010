"""Jinja2 templates of the promotion reports (package data: ``flywheel.tasks.reports.render`` reads them)."""
