"""slowmem: slow manifolds in recurrent networks encode working memory (Ghazizadeh & Ching 2021).

Data flows one way through the package::

    stimuli -> task -> network -> training -> evaluation -> analysis -> sweep -> store -> plots

Import what you need from the submodules, e.g.::

    from slowmem.config import Config
    from slowmem.training import train
"""
__version__ = "0.1.0"
