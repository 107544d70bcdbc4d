"""Showing the code of a tested helper inside a chapter.

A chapter that teaches an idea with code from :mod:`helpers` calls
``show_source(helpers.some_function)``; the page then shows the very code the
test suite tests (read from the installed module, not copied into the chapter),
highlighted like every other code block on the site and in Jupyter or Colab.
"""

import inspect
import re
import textwrap
import types

_SHOWABLE = (types.FunctionType, types.MethodType, type, types.ModuleType)


class SourceListing:
    """The source of one object, displayed as a highlighted Python code block.

    Jupyter, Colab and the book's build all render the ``text/markdown`` form
    (a fenced code block under a one-line caption); plain consoles get the code.
    """

    def __init__(self, qualified_name: str, filename: str, first_line: int, code: str):
        self.qualified_name = qualified_name
        self.filename = filename
        self.first_line = first_line
        self.code = code

    @property
    def last_line(self) -> int:
        return self.first_line + self.code.count("\n") - (1 if self.code.endswith("\n") else 0)

    def _repr_markdown_(self) -> str:
        # The fence must be longer than any run of backticks inside the code.
        longest = max((len(run) for run in re.findall(r"`+", self.code)), default=0)
        fence = "`" * max(3, longest + 1)
        caption = (
            f"`{self.qualified_name}`, from `{self.filename}` "
            f"(lines {self.first_line}–{self.last_line}):"
        )
        return f"{caption}\n\n{fence}python\n{self.code.rstrip()}\n{fence}\n"

    def __repr__(self) -> str:
        return self.code


def _source_file_label(module: types.ModuleType) -> str:
    """``helpers.device`` -> ``helpers/device.py``: where a reader finds the code."""
    stem = module.__name__.replace(".", "/")
    return f"{stem}/__init__.py" if hasattr(module, "__path__") else f"{stem}.py"


def show_source(obj) -> SourceListing:
    """Return a displayable listing of the source code of ``obj``.

    Args:
        obj: a function, method, class or module written in Python, for
            example ``helpers.get_device``.

    Returns:
        SourceListing: displays as a caption naming the object, its file and
        line numbers, followed by the highlighted code. ``.code`` holds the
        source text.

    Raises:
        TypeError: ``obj`` is not a function, method, class or module, or it has
            no Python source (a built-in or C extension).
    """
    if not isinstance(obj, _SHOWABLE):
        raise TypeError(
            f"obj must be a function, method, class or module, got {type(obj).__name__} {obj!r:.60}"
        )
    try:
        lines, first_line = inspect.getsourcelines(obj)
    except (OSError, TypeError):
        raise TypeError(
            f"obj {obj!r:.60} has no Python source to show "
            "(built-in or compiled); expected an object defined in a .py file"
        ) from None
    module = obj if isinstance(obj, types.ModuleType) else inspect.getmodule(obj)
    qualified_name = module.__name__ if obj is module else f"{module.__name__}.{obj.__qualname__}"
    code = textwrap.dedent("".join(lines))
    # getsourcelines numbers a whole module from 0; files start at line 1.
    return SourceListing(qualified_name, _source_file_label(module), max(first_line, 1), code)
