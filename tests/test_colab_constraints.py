"""Colab's versions (colab/constraints.txt) and the checks `make test-colab` builds on them.

The slow, real check is `make test-colab` (tools/colab_check.py): a venv with
Colab's versions, pip's own dry run, every notebook executed. These tests are
the fast part: the constraints file is what it says, the package's bounds admit
every Colab version, and the dry-run classification says what it should.
"""

import re
import sys

import colab_check
import pytest
import tomllib
from packaging.requirements import Requirement

from conftest import REPO

sys.path.insert(0, str(REPO / "colab"))
import refresh_constraints  # noqa: E402

COLAB = colab_check.read_constraints()


def test_the_constraints_name_their_source_and_date():
    header = [line for line in colab_check.CONSTRAINTS.read_text().splitlines() if line[:1] == "#"]
    text = "\n".join(header)
    assert re.search(
        r"Source: https://github\.com/googlecolab/backend-info/blob/[0-9a-f]{40}/pip-freeze\.txt",
        text,
    )
    assert re.search(r"Dated: \d{4}-\d\d-\d\d", text)
    assert re.search(r"Colab's Python: 3\.\d+", text)


def test_the_constraints_hold_colabs_widget_stack_and_numerics():
    # the versions the issue reported from Colab's runtime of 2026-08-19
    assert COLAB["ipywidgets"].startswith("7.")
    assert {"widgetsnbextension", "ipykernel", "ipython", "numpy", "torch", "pip"} <= set(COLAB)


DEPENDENCIES = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
# the dependencies Colab ships (the others, names and word lists, the first cell adds)
ON_COLAB = [d for d in DEPENDENCIES if colab_check.canonical(Requirement(d).name) in COLAB]


def test_most_dependencies_are_on_colab():
    assert len(ON_COLAB) >= 10, ON_COLAB


@pytest.mark.parametrize("dependency", ON_COLAB)
def test_every_bound_of_the_package_admits_colabs_version(dependency):
    requirement = Requirement(dependency)
    version = COLAB[colab_check.canonical(requirement.name)]
    assert requirement.specifier.contains(version, prereleases=True), (
        f"{dependency} refuses Colab's {requirement.name} {version}: the first cell would replace it"
    )


def report(*installs):
    return {
        "version": "1",
        "install": [
            {"metadata": {"name": n, "version": v}, "requested": False} for n, v in installs
        ],
    }


def test_a_dry_run_that_changes_an_installed_package_is_a_replacement():
    found = colab_check.changes(
        report(("rnn-book-helpers", "0.2.0"), ("ipywidgets", "8.1.9"), ("names", "0.3.0")),
        colab={"ipywidgets": "7.7.1", "click": "8.4.2"},
        installed={"ipywidgets": "7.7.1"},
    )
    assert found == {
        "replaced": [("ipywidgets", "7.7.1", "8.1.9")],
        "missing": [],
        "added": [("names", "0.3.0")],
    }


def test_a_colab_package_the_stand_in_lacks_is_missing_not_replaced():
    found = colab_check.changes(report(("Click", "8.5.0")), colab={"click": "8.4.2"}, installed={})
    assert found == {"replaced": [], "missing": [("click", "8.4.2", "8.5.0")], "added": []}


def test_names_are_compared_normalised():
    assert colab_check.canonical("Jupyter_Client") == colab_check.canonical("jupyter-client")
    found = colab_check.changes(
        report(("typing_extensions", "9")), colab={}, installed={"typing-extensions": "4"}
    )
    assert found["replaced"] == [("typing-extensions", "4", "9")]


def test_a_freeze_is_read_into_pins_and_url_installs():
    pins, left_out = refresh_constraints.pins_from_freeze(
        "# comment\n"
        "ipywidgets==7.7.1\n"
        "torch @ https://download.pytorch.org/whl/cpu/torch-2.11.0%2Bcpu-cp313-cp313-manylinux_2_28_x86_64.whl\n"
        "google-colab @ file:///colabtools/dist/google_colab-1.0.0.tar.gz\n"
        "kg @ git+https://github.com/googlecolab/kernel_gateway@b134e99\n"
    )
    assert pins == {"ipywidgets": "7.7.1", "torch": "2.11.0"}
    assert left_out == ["google-colab", "kg"]


def test_a_line_the_reader_does_not_understand_is_an_error():
    with pytest.raises(ValueError, match="cannot read this line"):
        refresh_constraints.pins_from_freeze("-e /some/where\n")
