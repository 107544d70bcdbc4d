"""The course tools: what an instructor uses to hand out, check and grade the exercises.

These are for instructors, not readers: the chapters teach with the reference
implementations elsewhere in :mod:`helpers`; this subpackage turns the same
chapters into assignments and checks or grades what students hand back. It sits
above everything else in the package (it may import any of it; nothing outside
``helpers.course`` imports it, apart from the old import paths kept below).

- :mod:`helpers.course.assignments`: student versions of the chapters, solutions
  removed (``python -m helpers.course.assignments``).
- :mod:`helpers.course.exercise_catalog`: a chapter's exercises read from its
  source (label, kind, statement, the check it calls).
- :mod:`helpers.course.grading`: a folder of submitted notebooks graded offline
  into a CSV and one feedback file each (``python -m helpers.course.grading``).
- :mod:`helpers.course.checks`: the automatic checks the chapters' exercise
  cells call (``helpers.exercises.check_...`` in the chapters).
- :mod:`helpers.course.sandbox`, :mod:`helpers.course.runner`,
  :mod:`helpers.course.remote`, :mod:`helpers.course.tripwires`: what grading
  is built from: each submission in a sandbox, its cells run there, its
  functions called from the grader with only plain data coming back, the
  graded exercises' references withheld from it.
- :mod:`helpers.course.sources`: the book's sources, from the clone the code
  runs in or a fresh clone at the installed commit (the instructors' page on Colab).
- :mod:`helpers.course.feedback`: what every check is built from: the report,
  safe calls of the student's code, and feedback on arrays and tensors.

The old paths ``helpers.assignments``, ``helpers.grading``,
``helpers.exercise_catalog`` and ``helpers.exercises`` (with its submodules)
stay importable for one release as aliases of these very modules, and
``python -m helpers.grading`` and ``python -m helpers.assignments`` still run.

Nothing is imported here, so that ``python -m helpers.course.grading`` finds
its module not yet loaded.
"""
