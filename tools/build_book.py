"""Build the whole book fresh, executing every chapter, and fail on any problem.

Usage: python tools/build_book.py [BOOK_DIR]   (default: the repository root)

This is what `make book` runs and what the tests run, so both mean the same
thing by "the book builds":

- the previous `_build/` is deleted first, because an incremental build does not
  re-read unchanged pages and can hide a failure;
- `--all` re-executes every notebook (the config also says `execute_notebooks: force`);
- `-W --keep-going` turns every Sphinx warning, including a failing cell
  (`raise_on_error`) and stderr output (`stderr_output: remove-warn`), into a
  non-zero exit after reporting all of them.
"""

import shutil
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def build_command(book_dir: Path) -> list[str]:
    jupyter_book = Path(sys.executable).with_name("jupyter-book")
    return [
        str(jupyter_book),
        "build",
        "--all",
        "-W",
        "--keep-going",
        "--builder",
        "html",
        str(book_dir),
    ]


def main(argv: list[str]) -> int:
    book_dir = Path(argv[1]).resolve() if len(argv) > 1 else REPO
    vendor = book_dir / "_web" / "vendor"
    if not vendor.is_dir():
        print(
            f"error: {vendor} is missing; `make web-assets` copies MathJax and the "
            "widget scripts there so pages render offline",
            file=sys.stderr,
        )
        return 2
    shutil.rmtree(book_dir / "_build", ignore_errors=True)
    start = time.perf_counter()
    result = subprocess.run(build_command(book_dir), cwd=book_dir)
    elapsed = time.perf_counter() - start
    verdict = "built" if result.returncode == 0 else f"FAILED (exit {result.returncode})"
    print(f"book {verdict} in {elapsed:.1f} s: {book_dir / '_build' / 'html' / 'index.html'}")
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv))
