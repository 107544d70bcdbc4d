"""Tested reference implementations behind the executable RNN textbook.

One module per concept, each readable next to the chapter that introduces it:

- :mod:`helpers.device`: :func:`get_device`, where tensors should live.
- :mod:`helpers.reproducibility`: :func:`seed_everything`, one seed for every
  random number generator a chapter uses.
- :mod:`helpers.source`: :func:`show_source`, shows the tested code of a helper
  in the page, so readers read the code the tests test.
"""

from helpers.device import DEVICE_ENV_VAR, get_device
from helpers.reproducibility import seed_everything
from helpers.source import show_source

__all__ = ["DEVICE_ENV_VAR", "get_device", "seed_everything", "show_source"]
__version__ = "0.1.0"
