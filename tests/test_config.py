"""Configuration that keeps the build offline and the repository named in one place."""

import re

from conftest import REPO, book_config


def test_jupyter_book_1_is_pinned():
    requirements = (REPO / "requirements.txt").read_text()
    assert re.search(r"^jupyter-book==1\.", requirements, re.M)
    assert re.search(r"^torch==2\.13\.0$", requirements, re.M)
    assert re.search(r"^-e \.$", requirements, re.M)


def test_the_package_has_loose_lower_bounds_only():
    pyproject = (REPO / "pyproject.toml").read_text()
    dependencies = re.search(r"dependencies = \[(.*?)\]", pyproject, re.S).group(1)
    for requirement in re.findall(r'"([^"]+)"', dependencies):
        assert "==" not in requirement and "<" not in requirement, requirement


def test_javascript_is_served_by_the_site():
    sphinx = book_config()["sphinx"]["config"]
    scripts = [sphinx["mathjax_path"], *sphinx["nb_ipywidgets_js"]]
    for script in scripts:
        assert "://" not in script, f"{script} would be loaded from the network"
        # Sphinx resolves these relative to _static/; _web/ is copied to the site root.
        assert script.startswith("../vendor/"), script
        in_site = script.removeprefix("../")
        assert (REPO / "_web" / in_site).is_file() or (REPO / "web" / in_site).is_file(), (
            f"{script} is in neither _web/ nor web/: run `make web-assets`"
        )
    assert sphinx["html_extra_path"] == ["_web", "web"]


def test_no_extension_needs_the_network():
    config = book_config()
    # `extra_extensions` would bring back Jupyter Book's whole default list.
    assert "extra_extensions" not in config["sphinx"]
    extensions = config["sphinx"]["config"]["extensions"]
    assert "sphinx.ext.intersphinx" not in extensions
    assert {"sphinx_exercise", "sphinxcontrib.bibtex", "myst_nb"} <= set(extensions)
    assert not (REPO / "_static").exists(), "a _static/ folder adds every .js in it to every page"


def test_execution_fails_the_build_on_errors():
    execute = book_config()["execute"]
    assert execute["execute_notebooks"] == "force"
    assert execute["raise_on_error"] is True
    assert execute["allow_errors"] is False
    assert execute["timeout"] >= 120


def test_repository_url_is_named_in_one_place():
    url = book_config()["repository"]["url"]
    assert url.startswith("https://github.com/")
    # Everything else that names a GitHub repository must name this one.
    checked = [
        REPO / "README.md",
        REPO / "pyproject.toml",
        REPO / "preface.md",
        REPO / "instructors.md",
        *sorted((REPO / "chapters").glob("*.md")),
    ]
    for path in checked:
        for found in re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", path.read_text()):
            assert found == url, f"{path.name} names {found}, _config.yml names {url}"


def pinned_versions(path):
    pins = {}
    for line in path.read_text().splitlines():
        match = re.match(r"^([A-Za-z0-9_.-]+)==([^\s+]+)", line)
        if match:
            pins[match.group(1).lower()] = match.group(2)
    return pins


def test_binder_runs_the_versions_the_book_is_built_with():
    book = pinned_versions(REPO / "requirements.txt")
    binder = pinned_versions(REPO / "binder" / "requirements.txt")
    assert {"torch", "numpy", "matplotlib", "ipywidgets", "tqdm"} <= set(binder)
    for package, version in binder.items():
        assert book.get(package) == version, (
            f"binder pins {package}=={version}, the book {book.get(package)}"
        )
    assert "torch==2.13.0+cpu" in (REPO / "binder" / "requirements.txt").read_text()
    assert "pip install --no-deps" in (REPO / "binder" / "postBuild").read_text()
