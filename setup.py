"""Where each part of the ``flywheel`` distribution lives in this repository.

The repository keeps its folders at the top level (``flows/``, ``tasks/``, ``sql/``, ...); the
distribution installs all of them under the one import name ``flywheel``. Everything else about
the package is in ``pyproject.toml``.
"""

from pathlib import Path

from setuptools import setup

# import name -> folder of this repository. Each folder holds an __init__.py, so the data in it
# is read with importlib.resources the same way from a wheel and from an editable install.
PACKAGE_FOLDERS = {
    "flywheel": "flywheel",
    "flywheel.flows": "flows",
    "flywheel.tasks": "tasks",
    "flywheel.sql": "sql",
    "flywheel.templates": "templates",
    "flywheel.sample_project.prompts": "prompts",
    "flywheel.sample_project.evalsets": "evalsets",
    "flywheel.sample_project.experiments": "experiments",
}
# files that are not Python and ship with the folder they sit in
DATA_FILES = ["*.sql", "*.j2", "*.yaml", "*.jsonl", "py.typed"]


def _packages() -> list[str]:
    """Every folder under a mapped folder, as an import name (data-only folders such as
    ``sql/ab`` included: setuptools ships a folder's files only when it is a package)."""
    found = set()
    for name, folder in PACKAGE_FOLDERS.items():
        found.add(name)
        for sub in Path(folder).rglob("*"):
            if sub.is_dir() and "__pycache__" not in sub.parts:
                found.add(".".join((name, *sub.relative_to(folder).parts)))
    return sorted(found)


setup(
    packages=_packages(),
    package_dir=PACKAGE_FOLDERS,
    package_data={"": DATA_FILES},
)
