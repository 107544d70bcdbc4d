"""No chapter puts float64 on ``device``: Apple's MPS has no float64.

A chapter runs on whatever ``helpers.get_device()`` picks: CUDA, then MPS, then
the CPU. MPS computes in float32 only, and code such as ``x.to(device).double()``
or ``torch.randn(..., device=device, dtype=torch.float64)`` raises there
("Cannot convert a MPS Tensor to float64 dtype"), although it runs on the CPU
and on CUDA, where the book is built and tested. So this test reads every
chapter's code cells (the ```` ```{code-cell} ```` blocks of its MyST source)
and reports each expression that puts float64 on ``device``:

1. ``x.to(device, torch.float64)``, ``x.to(device=device, dtype=torch.float64)``:
   a move to ``device`` and to float64 in one call;
2. ``torch.zeros(..., device=device, dtype=torch.float64)``, ``nn.LSTM(...,
   device=device, dtype=torch.float64)``: a factory given both;
3. ``.double()`` (or ``.to(torch.float64)``, ``.type(torch.float64)``) on a value
   that the same expression created on, or moved to, ``device``:
   ``model(x.to(device)).double()``;
4. a move to ``device`` of a value the same expression made float64:
   ``torch.randn(..., dtype=torch.float64).to(device)``, ``x.double().to(device)``.

What is fine, and not reported: float64 on the CPU (no ``device`` involved),
anything that goes through ``helpers.float64_device(device)`` (directly, or via a
name assigned from it), and ``.cpu()`` before ``.double()``.

"Device" means the name ``device``, any name assigned from it, from
``get_device()`` or from ``torch.device(...)`` (other than the CPU), and the
string ``"mps"``; "float64" means ``torch.float64``, ``torch.double``,
``"float64"`` and names assigned from them. The analysis follows one expression,
not values stored in variables: ``x = x.to(device)`` in one line and
``x.double()`` in the next is not seen (a reviewer's eye, or a run on a Mac,
finds those).
"""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
CHAPTERS = sorted(ROOT.glob("chapters/*.md")) + [ROOT / "instructors.md"]

FIX = "do the float64 work on helpers.float64_device(device) (the CPU on MPS)"
FIXES = {
    "to-device-and-float64": "`.to(device, torch.float64)` moves to device and float64 at once: "
    "use `.to(helpers.float64_device(device), torch.float64)`",
    "factory-on-device-in-float64": "a float64 tensor or module created on device: pass "
    "`device=helpers.float64_device(device)`",
    "float64-of-device-value": "`.double()` of a value on device: call `.cpu()` first "
    "(`.cpu().double()`), or " + FIX,
    "float64-moved-to-device": "a float64 value moved to device: move it to "
    "`helpers.float64_device(device)` instead, or make it float32",
}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    kind: str
    code: str

    def __str__(self):
        return f"{self.path}:{self.line}: {self.code.strip()}\n    fix: {FIXES[self.kind]}"


# --- reading the code cells of a MyST notebook ------------------------------------------------

_FENCE = re.compile(r"^(`{3,})\{code-cell\}")


def code_cells(text):
    """``(first_line, source)`` of each code cell of a MyST notebook; lines count from 1.

    ``first_line`` is the line of the Markdown file on which the cell's code begins,
    after its options (``:tags: ...`` lines, or a ``---`` block). IPython magics and
    shell escapes (``%pip``, ``!ls``) become ``pass`` so that the cell parses.
    """
    lines = text.splitlines()
    cells, i = [], 0
    while i < len(lines):
        match = _FENCE.match(lines[i])
        if not match:
            i += 1
            continue
        fence, i = match.group(1), i + 1
        if i < len(lines) and lines[i].strip() == "---":
            i += 1
            while i < len(lines) and lines[i].strip() != "---":
                i += 1
            i += 1
        while i < len(lines) and re.match(r"^:[\w-]+:", lines[i]):
            i += 1
        start, body = i, []
        while i < len(lines) and lines[i].rstrip() != fence:
            body.append(lines[i])
            i += 1
        i += 1
        source = "\n".join(re.sub(r"^(\s*)[%!].*$", r"\1pass", line) for line in body)
        cells.append((start + 1, source))
    return cells


# --- what is a device, what is float64 ---------------------------------------------------------


def _call_name(node):
    """The last name of a call's function: ``helpers.float64_device(d)`` -> ``float64_device``."""
    if isinstance(node, ast.Call):
        node = node.func
    if isinstance(node, ast.Attribute):
        return node.attr
    if isinstance(node, ast.Name):
        return node.id
    return None


def _is_torch_attr(node, names):
    return (
        isinstance(node, ast.Attribute)
        and node.attr in names
        and isinstance(node.value, ast.Name)
        and node.value.id == "torch"
    )


class _Scope:
    def __init__(self):
        self.devices = {"device"}
        self.float64 = set()

    def is_device(self, node):
        """Whether ``node`` names a device that may be MPS (not through float64_device)."""
        if isinstance(node, ast.Name):
            return node.id in self.devices
        if isinstance(node, ast.Constant):
            return node.value == "mps"
        if isinstance(node, ast.IfExp):
            if any(
                _call_name(n) == "supports_float64"
                for n in ast.walk(node.test)
                if isinstance(n, ast.Call)
            ):
                return False
            return self.is_device(node.body) or self.is_device(node.orelse)
        if isinstance(node, ast.Call):
            name = _call_name(node)
            if name == "get_device":
                return True
            if name == "device" and isinstance(node.func, ast.Attribute) and node.args:
                return self.is_device(node.args[0])
        return False

    def is_float64(self, node):
        """Whether ``node`` is a float64 dtype (``torch.float64``, ``torch.double``, a name)."""
        if _is_torch_attr(node, {"float64", "double"}):
            return True
        if isinstance(node, ast.Constant):
            return node.value in ("float64", "torch.float64", "torch.DoubleTensor")
        if isinstance(node, ast.Name):
            return node.id in self.float64
        if _is_torch_attr(node, {"DoubleTensor"}):
            return True
        return False

    def assign(self, target, value):
        """Follow ``name = value`` for device names and float64 names."""
        if not isinstance(target, ast.Name):
            return
        for names, test in ((self.devices, self.is_device), (self.float64, self.is_float64)):
            if test(value):
                names.add(target.id)
            else:
                names.discard(target.id)


# --- what an expression does -------------------------------------------------------------------

# Results that are not tensors on a device (a number, a list, a numpy array, a CPU tensor).
_LEAVES_DEVICE = {"cpu", "numpy", "item", "tolist"}
# Results that are no longer float64.
_LEAVES_FLOAT64 = {
    "float",
    "half",
    "bfloat16",
    "int",
    "long",
    "bool",
    "item",
    "tolist",
    "numpy",
    "argmax",
    "argmin",
}
_TO_FLOAT64_METHODS = {"double"}


def _keyword(call, name):
    return next((k.value for k in call.keywords if k.arg == name), None)


class _Expressions:
    def __init__(self, scope):
        self.scope = scope

    def _to_arguments(self, call):
        """The device and dtype arguments of a ``.to(...)`` call (either may be None)."""
        device, dtype = _keyword(call, "device"), _keyword(call, "dtype")
        for argument in call.args:
            if self.scope.is_float64(argument) or _is_torch_attr(
                argument,
                {
                    "float32",
                    "float",
                    "float16",
                    "half",
                    "bfloat16",
                    "int64",
                    "long",
                    "int32",
                    "bool",
                },
            ):
                dtype = dtype or argument
            elif device is None and not isinstance(argument, ast.Starred):
                device = argument
        return device, dtype

    def _cpu(self, node):
        return (
            isinstance(node, ast.Constant)
            and isinstance(node.value, str)
            and node.value.startswith("cpu")
        ) or (
            isinstance(node, ast.Call)
            and _call_name(node) == "device"
            and node.args
            and self._cpu(node.args[0])
        )

    def on_device(self, node):
        """Whether the value of ``node`` lives on ``device`` by what this expression does."""
        if isinstance(node, ast.Call):
            method = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if method in _LEAVES_DEVICE:
                return False
            if method == "to":
                device, _ = self._to_arguments(node)
                if device is not None:
                    return self.scope.is_device(device) and not self._cpu(device)
                return self.on_device(node.func.value)
            device = _keyword(node, "device")
            if device is not None:
                return self.scope.is_device(device)
            receiver = [node.func.value] if method is not None else []
            return any(
                self.on_device(n) for n in receiver + node.args + [k.value for k in node.keywords]
            )
        if isinstance(node, (ast.BinOp,)):
            return self.on_device(node.left) or self.on_device(node.right)
        if isinstance(node, ast.UnaryOp):
            return self.on_device(node.operand)
        if isinstance(node, ast.Subscript):
            return self.on_device(node.value)
        if isinstance(node, ast.Attribute):
            return node.attr in ("T", "mT", "data", "grad", "real") and self.on_device(node.value)
        if isinstance(node, (ast.List, ast.Tuple)):
            return any(self.on_device(n) for n in node.elts)
        return False

    def is_float64_value(self, node):
        """Whether the value of ``node`` is float64 by what this expression does."""
        if isinstance(node, ast.Call):
            method = node.func.attr if isinstance(node.func, ast.Attribute) else None
            if method in _TO_FLOAT64_METHODS:
                return True
            if method in _LEAVES_FLOAT64:
                return False
            if method in ("to", "type"):
                _, dtype = self._to_arguments(node)
                if dtype is not None:
                    return self.scope.is_float64(dtype)
                return self.on_float64_receiver(node)
            dtype = _keyword(node, "dtype")
            if dtype is not None:
                return self.scope.is_float64(dtype)
            return method is not None and self.on_float64_receiver(node)
        if isinstance(node, ast.Subscript):
            return self.is_float64_value(node.value)
        return False

    def on_float64_receiver(self, call):
        return isinstance(call.func, ast.Attribute) and self.is_float64_value(call.func.value)

    def problem(self, call):
        """The kind of float64-on-device problem ``call`` has itself, or None."""
        method = call.func.attr if isinstance(call.func, ast.Attribute) else None
        if method in ("to", "type"):
            device, dtype = self._to_arguments(call)
            moves_to_device = (
                device is not None and self.scope.is_device(device) and not self._cpu(device)
            )
            to_float64 = dtype is not None and self.scope.is_float64(dtype)
            if moves_to_device and to_float64:
                return "to-device-and-float64"
            if to_float64 and self.on_device(call.func.value):
                return "float64-of-device-value"
            if moves_to_device and dtype is None and self.is_float64_value(call.func.value):
                return "float64-moved-to-device"
            return None
        if method in _TO_FLOAT64_METHODS and self.on_device(call.func.value):
            return "float64-of-device-value"
        device, dtype = _keyword(call, "device"), _keyword(call, "dtype")
        if (
            device is not None
            and dtype is not None
            and self.scope.is_device(device)
            and self.scope.is_float64(dtype)
        ):
            return "factory-on-device-in-float64"
        return None


class _Visitor(ast.NodeVisitor):
    """Walks the statements in order, following assignments of device and float64 names."""

    def __init__(self, scope):
        self.scope = scope
        self.expressions = _Expressions(scope)
        self.found = []  # (line in the cell, kind)

    def visit_Call(self, node):
        kind = self.expressions.problem(node)
        if kind is not None:
            # a method call is reported on the line of its name (``.to(`` of a long chain)
            line = node.func.end_lineno if isinstance(node.func, ast.Attribute) else node.lineno
            self.found.append((line, kind))
        self.generic_visit(node)

    def visit_Assign(self, node):
        self.visit(node.value)
        for target in node.targets:
            self.scope.assign(target, node.value)

    def visit_AnnAssign(self, node):
        if node.value is not None:
            self.visit(node.value)
            self.scope.assign(node.target, node.value)


def float64_on_device(text, path="<chapter>"):
    """Every place in the code cells of MyST ``text`` that puts float64 on ``device``.

    Returns a list of :class:`Finding` (the Markdown file's line, the kind, the code line).
    A cell that does not parse as Python is skipped (the chapter tests report it).
    """
    scope, findings, lines = _Scope(), [], text.splitlines()
    for first_line, source in code_cells(text):
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        visitor = _Visitor(scope)
        visitor.visit(tree)
        for line, kind in sorted(set(visitor.found)):
            md_line = first_line + line - 1
            findings.append(Finding(path, md_line, kind, lines[md_line - 1]))
    return findings


# --- the tests ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", CHAPTERS, ids=lambda path: path.stem)
def test_no_chapter_puts_float64_on_the_device(path):
    findings = float64_on_device(path.read_text(), str(path.relative_to(ROOT)))
    assert not findings, (
        f"{len(findings)} place(s) put float64 on `device`, which fails on Apple's MPS "
        "(no float64 there):\n" + "\n".join(map(str, findings))
    )


def cell(code):
    """A MyST notebook with one code cell holding ``code`` (which starts on line 6)."""
    return f"# A chapter\n\nSome text.\n\n```{{code-cell}} ipython3\n{code}\n```\n"


BAD = {
    "to(device=device, dtype=torch.float64)": (
        "model = model.to(device=device, dtype=torch.float64)",
        "to-device-and-float64",
    ),
    "to(device, torch.float64)": ("x = x.to(device, torch.float64)", "to-device-and-float64"),
    "to(device, dtype=torch.float64)": (
        "x = x.to(device, dtype=torch.float64)",
        "to-device-and-float64",
    ),
    "to(device, a float64 name)": (
        "DTYPE = torch.float64\nx = x.to(device, DTYPE)",
        "to-device-and-float64",
    ),
    "to(a name for device, torch.double)": (
        "dev = helpers.get_device()\nx = x.to(dev, torch.double)",
        "to-device-and-float64",
    ),
    "randn(device=device, dtype=torch.float64)": (
        "X = torch.randn(4, 3, device=device, dtype=torch.float64)",
        "factory-on-device-in-float64",
    ),
    "nn.LSTM(device=device, dtype=torch.float64)": (
        "lstm = nn.LSTM(3, 5, device=device, dtype=torch.float64)",
        "factory-on-device-in-float64",
    ),
    "to(device).double()": ("x = x.to(device).double()", "float64-of-device-value"),
    "model(x.to(device)).double()": (
        "logits = model(batch.to(device)).double().cpu()",
        "float64-of-device-value",
    ),
    "randn(device=device).double()": (
        "x = torch.randn(3, device=device).double()",
        "float64-of-device-value",
    ),
    "to(device).to(torch.float64)": (
        "x = x.to(device).to(torch.float64)",
        "float64-of-device-value",
    ),
    "to(device).to(dtype=torch.float64)": (
        "x = (x.to(device) * 2).to(dtype=torch.float64)",
        "float64-of-device-value",
    ),
    "randn(dtype=torch.float64).to(device)": (
        "x = torch.randn(64, 10, generator=g, dtype=torch.float64).to(device)",
        "float64-moved-to-device",
    ),
    "double().to(device)": ("model = Model().double().to(device)", "float64-moved-to-device"),
    "nn.RNN(dtype=torch.float64).to(device)": (
        "rnn = torch.nn.RNN(3, 4, dtype=torch.float64).to(device)",
        "float64-moved-to-device",
    ),
    'to("mps").double()': ('x = x.to("mps").double()', "float64-of-device-value"),
    "inside a function, in a later line": (
        "def check(x):\n    y = x + 1\n"
        "    return torch.zeros(3, dtype=torch.float64, device=device)",
        "factory-on-device-in-float64",
    ),
}


@pytest.mark.parametrize("name", BAD)
def test_each_bad_pattern_is_caught_with_its_line_and_fix(name):
    code, kind = BAD[name]
    text = cell(code)
    findings = float64_on_device(text, "chapters/example.md")
    assert [f.kind for f in findings] == [kind], findings
    finding = findings[0]
    assert finding.line == 6 + code.count("\n")  # the last line of each snippet is the bad one
    assert text.splitlines()[finding.line - 1] == code.splitlines()[-1]
    assert "fix:" in str(finding) and "chapters/example.md:" in str(finding)


GOOD = {
    "float64 on the CPU": (
        "x = torch.randn(3, 4, dtype=torch.float64)\nlstm = nn.LSTM(3, 4, dtype=torch.float64)"
    ),
    "float32 on device": "x = torch.randn(3, device=device)\nmodel = model.to(device)",
    "through float64_device": (
        "x = x.to(helpers.float64_device(device), torch.float64)\n"
        "y = torch.zeros(2, device=helpers.float64_device(device), dtype=torch.float64)"
    ),
    "through a name assigned from float64_device": (
        "check_device = helpers.float64_device(device)\n"
        "model64 = model.to(check_device, torch.float64)\n"
        "x = torch.randn(3, device=check_device, dtype=torch.float64)\n"
        "y = torch.randn(3, dtype=torch.float64).to(check_device)"
    ),
    "cpu() before double()": (
        "logits = model(batch.to(device)).cpu().double()\n"
        "p = x.to(device).detach().cpu().double().numpy()"
    ),
    "double() of a CPU value": (
        "w = {n: p.detach().double().numpy() for n, p in model.named_parameters()}\n"
        "x_np = x_test.double().numpy()"
    ),
    "float() on device": "x = torch.randn(3, dtype=torch.float64).float().to(device)",
    "to(cpu) before double": 'y = x.to(device).to("cpu").double()',
    "device chosen by supports_float64": (
        'dev = device if helpers.supports_float64(device) else "cpu"\n'
        "x = torch.zeros(3, device=dev, dtype=torch.float64)"
    ),
    "a device name reassigned to the CPU": (
        'device = torch.device("cpu")\nx = torch.zeros(3, device=device, dtype=torch.float64)'
    ),
    "magics and options": ":tags: [hide-input]\n%pip install x\nx = torch.ones(2).double()",
    "item() of a device value": "value = float(model(x.to(device)).item())",
}


@pytest.mark.parametrize("name", GOOD)
def test_correct_code_is_not_reported(name):
    assert float64_on_device(cell(GOOD[name])) == []


def test_names_carry_over_from_cell_to_cell():
    text = (
        cell("DTYPE = torch.float64\nother = helpers.get_device()")
        + "\nText.\n\n"
        + cell("x = torch.ones(2, device=other, dtype=DTYPE)")
    )
    findings = float64_on_device(text)
    assert [(f.line, f.kind) for f in findings] == [(17, "factory-on-device-in-float64")]


def test_cell_options_are_skipped_and_lines_counted_from_the_file():
    text = (
        "# T\n\n```{code-cell} ipython3\n---\ntags: [hide-input]\n---\nimport torch\n\n"
        "x = torch.ones(2).to(device).double()\n```\n"
    )
    assert [f.line for f in float64_on_device(text)] == [9]
