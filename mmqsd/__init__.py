"""mmqsd: quantized spike-driven transformers for OpenMMLab.

Importing the package registers every mmqsd module into the ``mmqsd`` registry
scope and applies the small compatibility fixes the OpenMMLab stack needs on
recent torch (see :mod:`mmqsd.utils.compat`).
"""
from .version import __version__
from . import utils  # noqa: F401  (compat fixes first)
from . import models  # noqa: F401
from . import datasets  # noqa: F401
from . import engine  # noqa: F401
from . import apis  # noqa: F401

__all__ = ['__version__']
