import inspect
import re

import pytest

import helpers
from helpers import device, source


def fenced_code(markdown: str) -> str:
    match = re.search(r"^(`{3,})python\n(.*)\n\1$", markdown, flags=re.S | re.M)
    assert match, f"no fenced python block in:\n{markdown}"
    return match.group(2)


def test_shows_the_exact_source_of_a_function():
    listing = helpers.show_source(helpers.get_device)
    assert listing.code == inspect.getsource(device.get_device)
    assert fenced_code(listing._repr_markdown_()) == inspect.getsource(device.get_device).rstrip()


def test_caption_names_the_object_file_and_lines():
    lines, first = inspect.getsourcelines(device.get_device)
    caption = helpers.show_source(helpers.get_device)._repr_markdown_().splitlines()[0]
    assert caption == (
        f"`helpers.device.get_device`, from `helpers/device.py` "
        f"(lines {first}–{first + len(lines) - 1}):"
    )


def test_methods_are_dedented_and_modules_start_at_line_one():
    method = helpers.show_source(source.SourceListing._repr_markdown_)
    assert method.code.startswith("def _repr_markdown_(self)")
    module = helpers.show_source(source)
    assert module.first_line == 1
    assert module.code == inspect.getsource(source)
    assert "`helpers/source.py` (lines 1–" in module._repr_markdown_()


def test_package_modules_are_labelled_as_init_files():
    assert "`helpers/__init__.py`" in helpers.show_source(helpers)._repr_markdown_()


def test_fence_is_longer_than_backticks_inside_the_code():
    def uses_backticks():
        return "````"

    markdown = helpers.show_source(uses_backticks)._repr_markdown_()
    assert "`````python\n" in markdown
    assert fenced_code(markdown).endswith('return "````"')


def test_plain_repr_is_the_code():
    assert repr(helpers.show_source(helpers.seed_everything)) == inspect.getsource(
        helpers.seed_everything
    )


@pytest.mark.parametrize("obj", [3, "helpers.get_device", None])
def test_objects_without_code_are_a_type_error(obj):
    with pytest.raises(
        TypeError,
        match=rf"obj must be a function, method, class or module, got {type(obj).__name__}",
    ):
        helpers.show_source(obj)


def test_compiled_modules_are_a_type_error():
    import math

    with pytest.raises(TypeError, match="has no Python source"):
        helpers.show_source(math)
