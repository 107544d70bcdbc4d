"""The import structure of ``src/helpers``: no circles, no import up a layer, every module listed.

The layers are written down once, in ``ARCHITECTURE.md`` at the repository's root (a
``## Layer N: name`` heading per layer, a bullet per module that starts with the module's
dotted name in backquotes). This test reads them from there and the imports from the source
with ``ast``: module-level and function-level imports alike, absolute and relative.
"""

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "src" / "helpers"
ARCHITECTURE = REPO / "ARCHITECTURE.md"
TOP = "helpers"  # the package's __init__: it may import anything; nothing may import it

LAYER_HEADING = re.compile(r"^## Layer (\d+): (.+?)\s*$")
MODULE_BULLET = re.compile(r"^- `(helpers(?:\.\w+)*)`")


def module_files(package=PACKAGE):
    """``{dotted name: path}`` of every module of the package (a package is its ``__init__``)."""
    modules = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        modules[".".join(parts)] = path
    return modules


def imports_of(name, source, modules):
    """The modules of the package that the module ``name`` (its ``source``) imports anywhere.

    ``from helpers import x`` and ``from helpers.p import x`` import the submodule ``x`` when
    there is one, and the package itself otherwise (a name defined in its ``__init__``).
    """
    is_package = modules[name].name == "__init__.py"
    package = name if is_package else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name.split(".")[0] == TOP)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: one dot is the module's own package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            if target.split(".")[0] != TOP:
                continue
            for alias in node.names:
                submodule = f"{target}.{alias.name}"
                found.add(submodule if submodule in modules else target)
    found.discard(name)
    return found


def import_graph(package=PACKAGE):
    """``{module: set of modules it imports}`` for every module of the package."""
    modules = module_files(package)
    return {
        name: imports_of(name, path.read_text(encoding="utf-8"), modules)
        for name, path in modules.items()
    }


def declared_layers(text):
    """``{listed module or package: layer number}`` from the text of ARCHITECTURE.md."""
    layers, layer, numbers = {}, None, []
    for line in text.splitlines():
        heading = LAYER_HEADING.match(line)
        if heading:
            layer = int(heading.group(1))
            numbers.append(layer)
            continue
        if line.startswith("## "):
            layer = None
            continue
        bullet = MODULE_BULLET.match(line)
        if bullet and layer is not None:
            if bullet.group(1) in layers:
                raise ValueError(f"{bullet.group(1)} is listed twice in ARCHITECTURE.md")
            layers[bullet.group(1)] = layer
    if numbers != list(range(len(numbers))):
        raise ValueError(
            f"the layers of ARCHITECTURE.md must be numbered 0, 1, 2, ... in order, got {numbers}"
        )
    return layers


def layer_of(module, layers):
    """The layer of ``module``: its own bullet's, else the closest listed package's; else None."""
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in layers:
            return layers[".".join(parts[:end])]
    return None


def find_cycle(graph):
    """One circle of imports as a list ``[a, b, ..., a]``, or None if there is none."""
    state = {}  # absent: unvisited; 1: on the current path; 2: done
    for start in sorted(graph):
        if start in state:
            continue
        path, stack = [start], [iter(sorted(graph[start]))]
        state[start] = 1
        while stack:
            nxt = next(stack[-1], None)
            if nxt is None:
                state[path.pop()] = 2
                stack.pop()
            elif state.get(nxt) == 1:
                return path[path.index(nxt) :] + [nxt]
            elif nxt not in state:
                state[nxt] = 1
                path.append(nxt)
                stack.append(iter(sorted(graph.get(nxt, ()))))
    return None


def upward_imports(graph, layers):
    """Every import ``(module, its layer, imported module, that layer)`` that goes up a layer.

    The top (the package itself) is above every layer: importing it is always upward; its own
    imports are not checked.
    """
    upward = []
    for module in sorted(graph):
        if module == TOP:
            continue
        own = layer_of(module, layers)
        for target in sorted(graph[module]):
            theirs = float("inf") if target == TOP else layer_of(target, layers)
            if own is not None and theirs is not None and theirs > own:
                upward.append((module, own, target, theirs))
    return upward


@pytest.fixture(scope="module")
def graph():
    return import_graph()


@pytest.fixture(scope="module")
def layers():
    return declared_layers(ARCHITECTURE.read_text(encoding="utf-8"))


def test_the_imports_of_helpers_form_no_cycle(graph):
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle)


def test_no_module_imports_from_a_layer_above_its_own(graph, layers):
    upward = upward_imports(graph, layers)
    assert not upward, "imports up a layer (see ARCHITECTURE.md):\n" + "\n".join(
        f"  {m} (layer {a}) imports {t} (layer {b})" for m, a, t, b in upward
    )


def test_architecture_md_lists_every_module_and_only_modules_that_exist(graph, layers):
    unlisted = sorted(m for m in graph if m != TOP and layer_of(m, layers) is None)
    assert not unlisted, f"modules missing from ARCHITECTURE.md: {unlisted}"
    missing = sorted(set(layers) - set(graph))
    assert not missing, f"ARCHITECTURE.md lists modules that do not exist: {missing}"
    assert TOP not in layers, "the package itself is the top, not a layer of ARCHITECTURE.md"


def test_the_checker_names_an_injected_cycle(graph):
    assert find_cycle(graph) is None
    injected = {module: set(targets) for module, targets in graph.items()}
    injected["helpers.validation"].add("helpers.experiments")  # experiments -> ... -> validation
    cycle = find_cycle(injected)
    assert cycle is not None and cycle[0] == cycle[-1]
    assert {"helpers.validation", "helpers.experiments"} <= set(cycle)
    for a, b in zip(cycle, cycle[1:]):
        assert b in injected[a], f"{a} -> {b} is not an edge of the graph"


def test_the_checker_names_an_injected_upward_import(graph, layers):
    injected = {module: set(targets) for module, targets in graph.items()}
    injected["helpers.modules"].add("helpers.training")  # reference modules must not train
    assert upward_imports(injected, layers) == [
        (
            "helpers.modules",
            layers["helpers.modules"],
            "helpers.training",
            layers["helpers.training"],
        )
    ]


def test_importing_the_package_itself_counts_as_upward_and_as_a_cycle(graph, layers):
    injected = {module: set(targets) for module, targets in graph.items()}
    injected["helpers.text"].add(TOP)  # e.g. `from helpers import seed_everything` in text.py
    assert ("helpers.text", layers["helpers.text"], TOP, float("inf")) in upward_imports(
        injected, layers
    )
    assert TOP in find_cycle(injected)


def test_the_reader_sees_lazy_relative_and_package_level_imports():
    modules = dict.fromkeys(
        [
            "helpers",
            "helpers.a",
            "helpers.b",
            "helpers.c",
            "helpers.d",
            "helpers.p",
            "helpers.p.q",
            "helpers.p.r",
        ],
        Path("x.py"),
    )
    modules["helpers.p"] = Path("p/__init__.py")
    source = (
        "import numpy\n"
        "from helpers import a, seed_everything\n"
        "import helpers.b as bee\n"
        "def f():\n"
        "    from helpers.c import thing\n"
        "    from . import r\n"
        "    from .. import d\n"
    )
    assert imports_of("helpers.p.q", source, modules) == {
        "helpers.a",
        "helpers",
        "helpers.b",
        "helpers.c",
        "helpers.p.r",
        "helpers.d",
    }
    assert imports_of("helpers.p", "from . import q\nfrom .q import z\n", modules) == {
        "helpers.p.q"
    }


def test_declared_layers_reads_headings_and_bullets_and_rejects_bad_numbering():
    text = (
        "# Title\n\n## Layer 0: base\n\n- `helpers.a`: one.\n- `helpers.b`: two.\n"
        "\n## Layer 1: above\n\n- `helpers.c`: three, not `helpers.z`.\n\n## Notes\n\n"
        "- `helpers.y`: not a layer.\n"
    )
    assert declared_layers(text) == {"helpers.a": 0, "helpers.b": 0, "helpers.c": 1}
    with pytest.raises(ValueError, match="numbered 0, 1, 2"):
        declared_layers("## Layer 1: first\n- `helpers.a`: x\n")
    with pytest.raises(ValueError, match="listed twice"):
        declared_layers("## Layer 0: a\n- `helpers.a`: x\n## Layer 1: b\n- `helpers.a`: y\n")
