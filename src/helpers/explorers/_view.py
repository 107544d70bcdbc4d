"""What every explorer shares: controls over a matplotlib figure shown as an ``<img>``.

The figure is drawn on a :class:`matplotlib.figure.Figure` (not pyplot, so a
notebook shows it only where asked) and put into an ipywidgets ``HTML`` as a
PNG data URI with alt text. Being part of the widget's state, the picture
travels with the notebook: the website shows the default view with no kernel,
and a live kernel (Jupyter, Colab, Binder) redraws it on every change.
"""

import base64
import html
import io

__all__ = ["Explorer", "figure_html", "typed_one_hot"]


def figure_html(figure, alt, *, dpi=90):
    """``figure`` as an ``<img>`` element: a base64 PNG with the alt text ``alt``."""
    png = io.BytesIO()
    figure.savefig(png, format="png", dpi=dpi)
    return (
        f'<img src="data:image/png;base64,{base64.b64encode(png.getvalue()).decode()}" '
        f'alt="{html.escape(alt)}" style="max-width: 100%">'
    )


class Explorer:
    """Controls above a caption and a figure; a subclass says what to draw.

    A subclass sets ``self.controls`` (name -> widget) and ``self.figure`` and
    then calls :meth:`_build` with the rows of controls to show. Its
    :meth:`draw` redraws the figure from :meth:`settings` and returns its alt
    text and a caption, or raises :class:`ValueError`, before drawing anything,
    for a setting it cannot show (a typed text with an unknown character, say):
    the caption then says why, and the last good picture stays.

    Attributes:
        widget: the ipywidgets box to display.
        figure: the matplotlib figure, redrawn on every change.
        view: the ``HTML`` widget that shows the figure as an ``<img>``.
        caption: the ``HTML`` widget above it: a line about what is shown, or the problem.
        message: that line as plain text.
        controls: name -> widget.
    """

    def _build(self, rows):
        import ipywidgets as widgets

        self.caption = widgets.HTML()
        self.view = widgets.HTML()
        self.widget = widgets.VBox([*(widgets.HBox(row) for row in rows), self.caption, self.view])
        for control in self.controls.values():
            control.observe(self.update, names="value")
        self._drawing = True
        try:
            shown = self.draw()  # a default setting it cannot show raises here
        finally:
            self._drawing = False
        self._show(*shown)

    def settings(self):
        """The controls' current values, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def update(self, change=None):
        """Redraw from the controls; on a setting it cannot show, say why and keep the figure."""
        if getattr(self, "_drawing", False):
            return  # a control that draw() itself adjusts (a slider's range, say)
        self._drawing = True
        try:
            alt, caption = self.draw()
        except ValueError as error:
            self.message = str(error)
            self.caption.value = (
                f'<span style="color: #b00020">{html.escape(self.message, quote=False)}</span>'
            )
            return
        finally:
            self._drawing = False
        self._show(alt, caption)

    def _show(self, alt, caption):
        self.message = caption
        self.caption.value = html.escape(caption, quote=False)
        self.view.value = figure_html(self.figure, alt)

    def draw(self):
        """Redraw ``self.figure``; return ``(alt text, caption)``."""
        raise NotImplementedError


def typed_one_hot(text, symbols, like, *, max_length=60):
    """A typed ``text`` as one-hot rows (1, T, len(symbols)), dtype and device of ``like``.

    Raises :class:`ValueError`, which an explorer shows as its caption, for an
    empty text, one longer than ``max_length`` or a character not in ``symbols``.
    """
    import torch

    if not text:
        raise ValueError(f"type at least one of the symbols {symbols!r}")
    if len(text) > max_length:
        raise ValueError(f"type at most {max_length} symbols, got {len(text)}")
    unknown = sorted(set(text) - set(symbols))
    if unknown:
        raise ValueError(
            f"the model reads only the symbols {symbols!r}; not {', '.join(map(repr, unknown))}"
        )
    ids = torch.tensor([symbols.index(character) for character in text], device=like.device)
    return torch.nn.functional.one_hot(ids, len(symbols)).to(like.dtype)[None]
