"""While grading, the reference an exercise asks for is not there to be called.

The checks compare a submission with the book's tested references; a
submission that imports the reference (``from helpers.numpy_rnn import
rnn_step_backward``) would pass without an answer. The sandbox therefore runs
on a copy of the ``helpers`` package in which each reference that a graded
exercise asks students to write has its body replaced by a tripwire: calling it
raises :class:`ReferenceWithheld`, which names the function, and the check's
feedback says so. The copy is what the sandbox mounts, so reloading a module or
reading its file finds the tripwire too. The grader itself runs the real package.
"""

import ast
import shutil
from pathlib import Path

# check -> the references a submission must not call ("module:function")
REFERENCES = {
    "check_rnn_step_forward": ["helpers.numpy_rnn:rnn_step_forward"],
    "check_rnn_step_backward": [
        "helpers.numpy_rnn:rnn_step_forward",
        "helpers.numpy_rnn:rnn_step_backward",
    ],
    "check_rnn_forward": ["helpers.numpy_rnn:rnn_forward"],
    "check_rnn_backward": ["helpers.numpy_rnn:rnn_backward"],
    "check_lstm_step_forward": ["helpers.numpy_lstm:lstm_step_forward"],
    "check_lstm_step_backward": [
        "helpers.numpy_lstm:lstm_step_forward",
        "helpers.numpy_lstm:lstm_step_backward",
    ],
    "check_gru_step_forward": ["helpers.numpy_gru:gru_step_forward"],
    "check_gru_step_backward": [
        "helpers.numpy_gru:gru_step_forward",
        "helpers.numpy_gru:gru_step_backward",
    ],
    "check_masked_softmax": ["helpers.attention:masked_softmax"],
    "check_masked_sequence_loss": ["helpers.text:sequence_loss"],
    "check_final_states": ["helpers.sequence_classification:final_states"],
    "check_token_scores": ["helpers.sequence_labelling:token_scores"],
    "check_length_batches": ["helpers.text:length_batches"],
}

MESSAGE = (
    "{name} is the book's reference for this exercise; grading withholds it, "
    "so a submission has to compute the answer itself"
)


class ReferenceWithheld(RuntimeError):
    """Raised by a withheld reference when a submission calls it during grading."""


def references_for(check_names) -> list[str]:
    """The withheld references of these checks, without repeats, in order."""
    found = []
    for name in check_names:
        for reference in REFERENCES.get(name, []):
            if reference not in found:
                found.append(reference)
    return found


def _module_file(package_dir: Path, module: str) -> Path:
    parts = module.split(".")
    if parts[0] != "helpers":
        raise ValueError(f"not a module of helpers: {module}")
    path = package_dir.joinpath(*parts[1:])
    return path / "__init__.py" if path.is_dir() else path.with_suffix(".py")


def _withhold(source: str, names: set[str], module: str) -> str:
    """The module's source with the bodies of `names` replaced by a tripwire."""
    tree = ast.parse(source)
    found = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name in names:
            found.add(node.name)
            message = MESSAGE.format(name=f"{module}.{node.name}")
            node.body = ast.parse(
                "from helpers.course.tripwires import ReferenceWithheld\n"
                f"raise ReferenceWithheld({message!r})"
            ).body
    missing = names - found
    if missing:
        raise ValueError(f"{module} has no top-level function {sorted(missing)}")
    return ast.unparse(tree) + "\n"


CHECK_MESSAGE = (
    "{name}: while grading, the grader runs this check itself, outside the notebook "
    "(see the feedback file)"
)


def _quiet_checks(source: str, names: set[str]) -> str:
    """The check module's source with the checks in `names` printing a note instead.

    A notebook's own check calls are for feedback while working; they call the
    references, which the sandbox withholds, and count for nothing in the grade.
    """
    tree = ast.parse(source)
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            node.body = ast.parse(f"print({CHECK_MESSAGE.format(name=node.name)!r})").body
    return ast.unparse(tree) + "\n"


def withheld_copy(package_dir, destination, references, checks=()) -> Path:
    """Copy the ``helpers`` package to `destination` with `references` replaced by tripwires.

    Args:
        package_dir: the installed ``helpers`` folder.
        destination: an empty or missing folder to copy into.
        references: ``"module:function"`` names, as in :data:`REFERENCES`.
        checks: names of checks (``check_rnn_step_backward``) that, in the copy,
            only print that the grader runs them.

    Returns:
        Path: the copied package folder.
    """
    package_dir, destination = Path(package_dir), Path(destination)
    shutil.copytree(package_dir, destination, ignore=shutil.ignore_patterns("__pycache__"))
    by_module = {}
    for reference in references:
        module, _, function = reference.partition(":")
        by_module.setdefault(module, set()).add(function)
    for module, names in by_module.items():
        path = _module_file(destination, module)
        path.write_text(_withhold(path.read_text(encoding="utf-8"), names, module))
    checks = set(checks)
    for path in sorted((destination / "course" / "checks").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        here = {name for name in checks if f"def {name}(" in source}
        if here:
            path.write_text(_quiet_checks(source, here))
    return destination
