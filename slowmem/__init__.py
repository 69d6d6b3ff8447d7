"""slowmem: slow manifolds in recurrent networks encode working memory (Ghazizadeh & Ching 2021).

Data flows one way through the package, and its folder listing reads in that order (each layer
imports only those before it: the import-linter contract in ``pyproject.toml``, checked by ``make test``)::

    config -> runtime -> stimuli, system -> task, network -> training -> evaluation -> analysis
           -> store -> sweep -> report -> plots -> book (chapter tooling, coursework) -> cli

``config`` holds what changes a result (the science), ``runtime`` how a run goes (device, engine,
threads, chunk sizes); ``system`` is the small protocol every analysis takes, which
:class:`~slowmem.network.RateNetworks` implements.

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
