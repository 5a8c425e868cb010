"""``python -m flywheel``: the same as the ``flywheel`` command."""

from flywheel.flows.cli import command

command()
