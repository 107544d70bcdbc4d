"""The install cell: one template from _config.yml, stamped with the build's revision.

And helpers.version, which the cell prints: which distribution runs and where it came from.
"""

import json
import subprocess
import sys

import pytest
import yaml
from IPython.core.inputtransformer2 import TransformerManager

import helpers
from helpers import version

import install_cell
from conftest import REPO, book_config


def make_book(tmp_path, **repository):
    """A folder with the two files the install settings come from."""
    settings = {"url": "https://github.com/someone/fork", "branch": "dev", **repository}
    (tmp_path / "_config.yml").write_text(yaml.safe_dump({"repository": settings}))
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\nversion = "1.2.3"\n')
    return tmp_path


def test_the_source_cell_installs_the_configured_branch(tmp_path):
    cell = install_cell.source_cell(make_book(tmp_path))
    assert install_cell.requirement_of(cell) == (
        "rnn-book-helpers @ git+https://github.com/someone/fork@dev"
    )


def test_stamping_replaces_the_requirement_and_nothing_else():
    cell = install_cell.source_cell()
    stamped = install_cell.stamp(cell, "rnn-book-helpers==9.9.9")
    assert install_cell.requirement_of(stamped) == "rnn-book-helpers==9.9.9"
    assert stamped.replace("rnn-book-helpers==9.9.9", "X") == cell.replace(
        install_cell.requirement_of(cell), "X"
    )


@pytest.mark.parametrize("lines", [0, 2])
def test_a_cell_without_exactly_one_pip_line_cannot_be_stamped(lines):
    cell = install_cell.source_cell()
    pip_line = next(line for line in cell.splitlines() if "%pip install" in line)
    broken = cell.replace(pip_line, "\n".join([pip_line] * lines))
    with pytest.raises(ValueError, match=f"exactly one .* found {lines}"):
        install_cell.stamp(broken, "rnn-book-helpers==1")


def test_release_setting_pins_the_version_of_pyproject(tmp_path):
    book = make_book(tmp_path, install_from="release")
    assert install_cell.published_requirement(book) == "rnn-book-helpers==1.2.3"


def test_revision_setting_pins_the_commit_being_built(tmp_path):
    book = make_book(tmp_path, install_from="revision")
    git = ["git", "-C", str(book), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "x"], check=True)
    sha = subprocess.run(
        [*git, "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert install_cell.published_requirement(book) == (
        f"rnn-book-helpers @ git+https://github.com/someone/fork@{sha}"
    )


def test_revision_outside_a_git_checkout_says_what_to_do(tmp_path):
    with pytest.raises(RuntimeError, match="install_from: release"):
        install_cell.published_requirement(make_book(tmp_path))


def test_an_unknown_install_from_is_refused_with_the_choices(tmp_path):
    with pytest.raises(ValueError, match=r"install_from must be one of .*'nightly'"):
        install_cell.repository_settings(make_book(tmp_path, install_from="nightly"))


def test_the_repository_settings_of_this_book_are_valid():
    settings = install_cell.repository_settings()
    assert settings["install_from"] in install_cell.INSTALL_FROM
    assert settings == {**book_config()["repository"], "install_from": settings["install_from"]}


def test_the_cell_installs_nothing_where_helpers_imports_and_prints_which_runs(capsys):
    python = TransformerManager().transform_cell(install_cell.source_cell())
    magics = []

    class Recorder:
        def run_line_magic(self, name, line):
            magics.append(name)

    exec(python, {"get_ipython": Recorder})
    assert magics == []
    assert capsys.readouterr().out == version.describe() + "\n"


def test_this_checkout_runs_as_the_named_distribution_installed_editable():
    # `make install` installs the checkout with `pip install -e .`
    assert version.DISTRIBUTION == install_cell.DISTRIBUTION == "rnn-book-helpers"
    assert helpers.__version__ == install_cell.project_version()
    where = version.installed_from()
    assert where.startswith("editable "), where
    assert where.removeprefix("editable ") == REPO.as_uri().removeprefix("file://")


def test_a_git_install_is_described_with_its_commit(tmp_path, monkeypatch):
    # A real (if minimal) installed distribution, as pip leaves it after
    # `pip install "rnn-book-helpers @ git+URL@sha"`, found first on sys.path.
    info = tmp_path / "rnn_book_helpers-9.9.9.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: rnn-book-helpers\nVersion: 9.9.9\n"
    )
    (info / "direct_url.json").write_text(
        json.dumps(
            {
                "url": "https://github.com/someone/fork",
                "vcs_info": {"vcs": "git", "commit_id": "abc123", "requested_revision": "abc123"},
            }
        )
    )
    monkeypatch.setattr(sys, "path", [str(tmp_path), *sys.path])
    assert version.version() == "9.9.9"
    assert version.describe() == (
        "rnn-book-helpers 9.9.9 from git https://github.com/someone/fork@abc123"
    )
