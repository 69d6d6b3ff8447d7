"""The errors slowmem raises, by kind; every message names what was wrong and what is allowed.

    SlowmemError        the base: catch it to handle anything slowmem refuses
      ConfigError       a bad setting: a parameter, CLI flag, config, grid file or chapter parameter
      StoredFileError   a damaged, foreign or inconsistent stored file: results folder, array file,
                        network file, JSON document, population index, stimuli file, notebook
      ShapeError        tensors of the wrong shape or dtype for the systems they are used with

``ConfigError`` and ``ShapeError`` are also ``ValueError``\\ s (a bad value), as before this split.
"""
from __future__ import annotations

__all__ = ["SlowmemError", "ConfigError", "StoredFileError", "ShapeError"]


class SlowmemError(Exception):
    """Anything slowmem refuses; the message says what was wrong and what is allowed."""


class ConfigError(SlowmemError, ValueError):
    """A setting is invalid. The message names the setting and what is allowed."""


class StoredFileError(SlowmemError):
    """A stored file is damaged, foreign (not made by slowmem, or by another format) or inconsistent with the
    files beside it. The message names the file and how to remake it."""


class ShapeError(SlowmemError, ValueError):
    """A tensor's shape or dtype does not fit the systems, task or batch it is used with; the message gives
    the shape expected and the shape got."""
