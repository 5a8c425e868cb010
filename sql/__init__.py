"""The SQL statements flywheel runs, one named file each (package data: ``flywheel.tasks.db`` reads them)."""
