"""The attention explorer: type a source sentence, see the translation and the attention map.

:class:`AttentionExplorer` runs a trained :class:`helpers.seq2seq.Seq2Seq`
with attention greedily on the words typed in a text box and draws its
attention weights: one row per output token, one column per source word.
"""

import torch

from helpers.explorers._view import Explorer
from helpers.plotting import plot_attention
from helpers.validation import _describe, check_positive_int

__all__ = ["AttentionExplorer"]


class AttentionExplorer(Explorer):
    """Type a sentence for a trained attention model; see its translation and attention map.

    Args:
        model: a trained :class:`helpers.seq2seq.Seq2Seq` whose decoder has attention.
        source_vocab: the word-level :class:`helpers.text.Vocab` of its sources.
        target_vocab: the :class:`helpers.text.Vocab` of its outputs.
        source: the sentence shown first.
        max_length: the most tokens to write.

    Attributes (besides :class:`~helpers.explorers._view.Explorer`'s):
        output: the output tokens (list of str, ``<eos>`` last if it was written).
        weights: float tensor (len(output), number of source words), each row summing to 1.
        ax: the heat map's axes.
        controls: ``{"source"}``: the text box.
    """

    def __init__(self, model, source_vocab, target_vocab, *, source, max_length):
        import ipywidgets as widgets
        from matplotlib.figure import Figure

        if not hasattr(model, "greedy_decode") or getattr(model.decoder, "attention", None) is None:
            raise TypeError(f"model must be a Seq2Seq with attention, got {_describe(model)}")
        for name, vocab in (("source_vocab", source_vocab), ("target_vocab", target_vocab)):
            if not hasattr(vocab, "encode") or not hasattr(vocab, "itos"):
                raise TypeError(f"{name} must be a helpers.text.Vocab, got {_describe(vocab)}")
        if source_vocab.level != "word":
            raise ValueError("source_vocab must be word-level (level='word')")
        self.model, self.source_vocab, self.target_vocab = model, source_vocab, target_vocab
        self.max_length = check_positive_int("max_length", max_length)
        self.controls = {
            "source": widgets.Text(
                value=source,
                description="source",
                continuous_update=False,
                layout=widgets.Layout(width="44em"),
            )
        }
        self.figure = Figure(figsize=(7, 4.5))
        self.ax = self.figure.add_subplot()
        self.output, self.weights = [], None
        self._build([list(self.controls.values())])

    def translate(self, source):
        """``(output tokens, weights (len(output), S))`` of the greedy translation of ``source``.

        Raises :class:`ValueError` for an empty sentence or a word the model has never seen.
        """
        words = source.split()
        if not words:
            raise ValueError("type a sentence: a number in words")
        unknown = [word for word in words if word not in self.source_vocab]
        if unknown:
            known = [token for token in self.source_vocab.itos if not token.startswith("<")]
            examples = (
                ", ".join(known)
                if len(known) <= 6
                else f"such as {', '.join(known[:3])} ... {', '.join(known[-3:])}"
            )
            raise ValueError(
                f"not in the model's vocabulary: {', '.join(map(repr, unknown))} "
                f"(it knows {len(known)} words: {examples})"
            )
        device = next(self.model.parameters()).device
        ids = torch.tensor([self.source_vocab.encode(source)], device=device)
        was_training = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                tokens, maps = self.model.greedy_decode(
                    ids, torch.tensor([len(words)]), max_length=self.max_length
                )
        finally:
            self.model.train(was_training)
        return [self.target_vocab.itos[k] for k in tokens[0]], maps[0].cpu()

    def draw(self):
        source = self.controls["source"].value
        self.output, self.weights = self.translate(source)  # ValueError before drawing
        words = source.split()
        separator = "" if self.target_vocab.level == "char" else " "
        text = separator.join(token for token in self.output if token != "<eos>")
        self.ax.clear()
        plot_attention(self.weights, words, self.output, ax=self.ax, title=f"output: {text}")
        self.figure.tight_layout()
        finished = self.output[-1] == "<eos>"
        caption = f"{' '.join(words)} → {text}" + (
            "" if finished else f" (stopped at {self.max_length} tokens)"
        )
        alt = (
            f"Attention map of the translation of {source!r} into {text!r}: one row per "
            f"output token, one column per source word"
        )
        return alt, caption
