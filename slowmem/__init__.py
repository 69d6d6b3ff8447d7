"""slowmem: slow manifolds in recurrent networks encode working memory (Ghazizadeh & Ching 2021).

Data flows one way through the package, and its folder listing reads in that order::

    config -> stimuli -> task -> network -> training -> evaluation -> analysis
           -> sweep -> store -> report -> plots -> (the book's chapters)

Import what you need from the submodules, e.g.::

    from slowmem.config import Config
    from slowmem.training import train
"""
from importlib.metadata import PackageNotFoundError, version

try:
    #: The installed version (one place: ``pyproject.toml``); every stored file records it.
    __version__ = version("slowmem")
except PackageNotFoundError:          # running from a source tree that was never installed
    __version__ = "0+unknown"
