"""helpers.course.sources: the instructors' page finds the book's sources, or clones them."""

import subprocess

import pytest

from helpers.course import sources


def git(*args, cwd):
    return subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


@pytest.fixture
def upstream(tmp_path):
    """A tiny repository with a _toc.yml: two commits, the first one marked."""
    repo = tmp_path / "upstream"
    repo.mkdir()
    git("init", "-q", cwd=repo)
    (repo / "_toc.yml").write_text("root: preface\n")
    (repo / "version.txt").write_text("first\n")
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "first", cwd=repo)
    first = git("rev-parse", "HEAD", cwd=repo)
    (repo / "version.txt").write_text("second\n")
    git("commit", "-q", "-am", "second", cwd=repo)
    return repo, first


def test_a_checkout_is_found_from_a_folder_inside_it(upstream):
    repo, _ = upstream
    inside = repo / "chapters" / "deep"
    inside.mkdir(parents=True)
    assert sources.book_checkout(inside) == repo.resolve()


def test_outside_a_checkout_the_named_repository_is_cloned(upstream, tmp_path, monkeypatch):
    repo, _ = upstream
    monkeypatch.setenv(sources.REPOSITORY_ENV_VAR, str(repo))
    empty = tmp_path / "colab"
    empty.mkdir()
    book = sources.book_checkout(empty)
    assert book == (empty / "rnn-book").resolve()
    assert (book / "version.txt").read_text() == "second\n"
    # a second call reuses the clone
    assert sources.book_checkout(empty) == book


def test_a_git_install_clones_the_commit_it_was_installed_from(upstream, tmp_path, monkeypatch):
    repo, first = upstream
    monkeypatch.delenv(sources.REPOSITORY_ENV_VAR, raising=False)
    monkeypatch.setattr(sources, "installed_from", lambda: f"git {repo}@{first}")
    assert sources.repository_to_clone() == (str(repo), first)
    book = sources.book_checkout(tmp_path / "elsewhere", clone_into=tmp_path / "clone")
    assert (book / "version.txt").read_text() == "first\n"


def test_an_editable_install_clones_the_source_url_of_its_metadata(monkeypatch):
    monkeypatch.delenv(sources.REPOSITORY_ENV_VAR, raising=False)
    url, commit = sources.repository_to_clone()  # this checkout: `pip install -e .`
    assert url == "https://github.com/rnn-book/rnn-book" and commit is None


def test_a_failed_clone_says_what_failed_and_what_to_do(tmp_path, monkeypatch):
    monkeypatch.setenv(sources.REPOSITORY_ENV_VAR, str(tmp_path / "no-such-repository"))
    (tmp_path / "work").mkdir()
    with pytest.raises(
        RuntimeError, match=r"`git clone .*` failed: .*Clone the repository by hand"
    ):
        sources.book_checkout(tmp_path / "work")
