"""Old path of :mod:`helpers.course.checks`, kept as an alias; the chapters call it.

The chapters' exercise cells call ``helpers.exercises.check_...``.

``helpers.exercises`` is the package :mod:`helpers.course.checks` itself, and
``helpers.exercises.rnn`` (and every other submodule) the same module as
``helpers.course.checks.rnn``; ``helpers.exercises._feedback`` is
:mod:`helpers.course.feedback`.
"""

import importlib
import pkgutil
import sys

from helpers.course import checks as _checks
from helpers.course import feedback as _feedback

for _info in pkgutil.iter_modules(_checks.__path__):
    sys.modules[f"{__name__}.{_info.name}"] = importlib.import_module(
        f"{_checks.__name__}.{_info.name}"
    )
sys.modules[f"{__name__}._feedback"] = _feedback
sys.modules[__name__] = _checks
