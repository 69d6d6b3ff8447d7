"""Book tooling: what serves the Jupyter Book in ``book/`` and its readers, above every other layer.

    chapters.py    chapter parameters: the ``parameters`` cell convention, strict checks, papermill runs
    coursework.py  the two editions of the exercises (instructor, student) and autograding
    sandbox.py     where grading runs a submission: bubblewrap, definitions only, limits, scores
    exercises/     the checks the chapters' exercise cells call
    live.py        the population a chapter reads: stored, or trained live when asked for

:func:`locate_book` is the one place that locates the book's sources.
"""
from __future__ import annotations

from pathlib import Path

from slowmem.config import ConfigError

__all__ = ["locate_book"]

#: The book's folder in a source checkout: ``<repository>/book`` beside the package.
SOURCE_BOOK = Path(__file__).resolve().parents[2] / "book"


def locate_book(path: str | Path | None = None) -> Path:
    """The book's source folder: ``path`` when given (it must be a folder), else the checkout's ``book/``.

    Raises ConfigError when ``path`` is not a folder, or, with no ``path``, when slowmem runs from an
    installed wheel (which carries the package, not the book): then pass the folder of a source checkout.
    """
    if path is not None:
        p = Path(path)
        if not p.is_dir():
            raise ConfigError(f"book folder {p} does not exist or is not a folder")
        return p
    if not (SOURCE_BOOK / "_toc.yml").is_file():
        raise ConfigError(f"no book beside this slowmem ({SOURCE_BOOK} holds no _toc.yml: an installed wheel "
                          "carries the package, not the book); pass the book folder of a source checkout")
    return SOURCE_BOOK
