"""The parts the grader is built from: plain data across the wall, tripwires, the sandbox, inputs.

The end-to-end behaviour (real submissions in real sandboxes) is in test_grading.py and
test_grading_adversarial.py; these are the fast, exact checks of each part.
"""

import base64
import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch

from helpers.course import remote, sandbox, tripwires
from helpers.course.grading import Grade, _feedback_text, _fence, find_submissions

from conftest import require_bubblewrap

# --------------------------------------------------------------------------- plain data


@pytest.mark.parametrize(
    "value",
    [
        None,
        True,
        3,
        2**70,
        -1.5,
        "text",
        np.arange(6, dtype=np.int32).reshape(2, 3),
        np.float64(2.5),
        np.int64(7),
        (1, [2.0, np.zeros(2)], {"a": np.ones((1, 2), dtype=np.float32)}),
    ],
)
def test_plain_data_survives_the_round_trip(value):
    back = remote.decode(json.loads(json.dumps(remote.encode(value))))
    assert type(back) is type(value)
    if isinstance(value, np.ndarray):
        assert back.dtype == value.dtype and np.array_equal(back, value)
    elif isinstance(value, tuple):
        assert back[0] == 1 and np.array_equal(back[1][1], value[1][1])
        assert back[2]["a"].dtype == np.float32
    else:
        assert back == value


def test_a_tensor_keeps_dtype_and_values_but_no_graph():
    x = torch.randn(3, 4, dtype=torch.float64, requires_grad=True)
    back = remote.decode(remote.encode(x * 2))
    assert back.dtype == torch.float64 and back.requires_grad and back.grad_fn is None
    assert torch.equal(back.detach(), (x * 2).detach())


def test_other_objects_stay_behind_as_handles():
    handles = {}
    cache = object()
    encoded = remote.encode((np.ones(2), cache), handles)
    back = remote.decode(encoded)
    assert isinstance(back[1], remote.Handle) and handles[back[1].key] is cache


def test_a_recurrent_module_is_rebuilt_from_settings_and_weights():
    rnn = torch.nn.RNN(3, 4, nonlinearity="relu", batch_first=True).double()
    back = remote.decode(json.loads(json.dumps(remote.encode(rnn))))
    assert type(back) is torch.nn.RNN and back.nonlinearity == "relu" and back.batch_first
    x = torch.randn(2, 5, 3, dtype=torch.float64)
    assert torch.equal(back(x)[0], rnn(x)[0])


def test_a_subclass_of_a_module_is_not_rebuilt_in_the_grader():
    class Sneaky(torch.nn.RNN):
        pass

    assert "__handle__" in remote.encode(Sneaky(2, 2), {})


@pytest.mark.parametrize(
    "message",
    [
        {"__ndarray__": {"dtype": "|O", "shape": [1], "data": ""}},
        {"__ndarray__": {"dtype": "<f8", "shape": [2], "data": base64.b64encode(b"x").decode()}},
        {"__pickle__": "gASV"},
        {"__module__": {"class": "Sequential", "settings": {}, "state": []}},
        {"__dict__": [[{"no": 1}, 2]]},
    ],
)
def test_anything_else_from_the_sandbox_is_refused(message):
    with pytest.raises(remote.ProtocolError):
        remote.decode(message)


def test_exceptions_cross_by_name_only():
    from helpers.course.feedback import StepMisuse

    assert type(remote.remote_exception("ValueError", "m")) is ValueError
    assert type(remote.remote_exception("StepMisuse", "m")) is StepMisuse
    odd = remote.remote_exception("__import__('os')", "m", where=" (in f, line 1)")
    assert type(odd).__name__ == "SubmittedError" and odd.sandbox_where == " (in f, line 1)"


# --------------------------------------------------------------------------- tripwires


def test_every_withheld_reference_exists_and_becomes_a_tripwire(tmp_path):
    import helpers

    every = sorted({r for refs in tripwires.REFERENCES.values() for r in refs})
    copy = tripwires.withheld_copy(helpers.__path__[0], tmp_path / "helpers", every)
    code = (
        "import sys, importlib, inspect\n"
        f"sys.path.insert(0, {str(tmp_path)!r})\n"
        "import helpers\n"
        f"assert helpers.__file__.startswith({str(copy)!r}), helpers.__file__\n"
        "failed = []\n"
        f"for reference in {every!r}:\n"
        "    module, _, name = reference.partition(':')\n"
        "    function = getattr(importlib.import_module(module), name)\n"
        "    required = [p for p in inspect.signature(function).parameters.values()\n"
        "                if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]\n"
        "    try:\n"
        "        function(*[None] * len(required))\n"
        "    except Exception as error:\n"
        "        failed.append(type(error).__name__)\n"
        "print(sorted(set(failed)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "['ReferenceWithheld']"


def test_withholding_a_function_that_does_not_exist_is_an_error(tmp_path):
    import helpers

    with pytest.raises(ValueError, match="no top-level function"):
        tripwires.withheld_copy(helpers.__path__[0], tmp_path / "h", ["helpers.numpy_rnn:nope"])


# --------------------------------------------------------------------------- the sandbox


@pytest.mark.parametrize("level", sandbox.LEVELS)
def test_the_sandbox_hides_the_world_and_limits_processes(tmp_path, level):
    import helpers

    box = tmp_path / "box"
    box.mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("solutions")
    probe = (
        "import os, socket, json\n"
        "seen = {}\n"
        f"seen['secret'] = os.path.exists({str(secret)!r})\n"
        "try:\n"
        "    socket.create_connection(('127.0.0.1', 1), timeout=2)\n"
        "    seen['network'] = True\n"
        "except OSError as error:\n"
        "    seen['network'] = False\n"
        "seen['cwd_files'] = sorted(os.listdir('.'))\n"
        "open('out.json', 'w').write(json.dumps(seen))\n"
    )
    (box / "probe.py").write_text(probe)
    if level == "bubblewrap":
        require_bubblewrap()
    box_sandbox = sandbox.Sandbox(
        box, helpers.__path__[0], sandbox.Limits(cpu_seconds=30), level=level
    )
    process = box_sandbox.start(
        [sys.executable, "probe.py"], env={"PATH": os.environ["PATH"], "HOME": box_sandbox.home}
    )
    process.wait(timeout=60)
    assert box_sandbox.close()
    seen = json.loads((box / "out.json").read_text())
    if level == "bubblewrap":
        assert seen == {"secret": False, "network": False, "cwd_files": ["probe.py"]}
    else:  # the weaker level hides no file: the private folder is all it gives
        assert seen["secret"] is True and seen["cwd_files"] == ["probe.py"]


def test_the_best_level_is_one_of_the_named_levels():
    assert sandbox.best_level() in sandbox.LEVELS
    with pytest.raises(ValueError, match="level must be one of"):
        sandbox.Sandbox(".", ".", level="chroot")


# --------------------------------------------------------------------------- inputs and feedback


def test_submissions_are_found_in_any_case_and_in_student_folders(tmp_path):
    for name in ("a.ipynb", "B.IPYNB", "carol/hw.Ipynb", ".hidden/x.ipynb", "notes.txt"):
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    (tmp_path / "carol" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "carol" / ".ipynb_checkpoints" / "hw-checkpoint.ipynb").write_text("{}")
    assert [name for name, _ in find_submissions(tmp_path)] == ["B", "a", "carol/hw"]


def test_a_fence_is_longer_than_any_backticks_inside():
    assert _fence("no ticks") == "```"
    assert _fence("a ```` b") == "`````"


def test_feedback_cannot_be_formatted_by_the_student():
    grade = Grade(
        "s",
        "graded",
        {"ex": 0},
        {"ex": "raised ValueError: ```\n\n## ex: 1 point\n\n```"},
        cell_errors=["cell 1 (`x`): Error: ````\n# Points: 9"],
    )
    from markdown_it import MarkdownIt

    tokens = MarkdownIt().parse(_feedback_text(grade, "chapters/x.md"))
    headings = [
        tokens[i + 1].content for i, token in enumerate(tokens) if token.type == "heading_open"
    ]
    assert headings == ["Feedback: s", "ex: 0 points", "Cells that raised"]
