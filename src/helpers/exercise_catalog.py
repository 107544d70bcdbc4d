"""Old path of :mod:`helpers.course.exercise_catalog`, kept as an alias for one release."""

import sys

from helpers.course import exercise_catalog as _module

sys.modules[__name__] = _module  # the old name is the new module itself, not a copy
