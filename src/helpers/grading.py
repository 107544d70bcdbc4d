"""Old path of :mod:`helpers.course.grading`, kept as an alias for one release."""

import sys

from helpers.course import grading as _module

if __name__ == "__main__":  # python -m helpers.grading runs the new module's command line
    sys.exit(_module.main())
else:  # the old name is the new module itself, not a copy
    sys.modules[__name__] = _module
