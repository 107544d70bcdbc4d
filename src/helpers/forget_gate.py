"""The LSTM without a forget gate (Hochreiter and Schmidhuber 1997), and the task that needs one.

The first LSTM had no forget gate: its cell only adds, ``c_t = c_{t-1} + i_t g_t``,
the constant error carousel, whose Jacobian along the cell is exactly the
identity. Gers, Schmidhuber and Cummins (2000) added the forget gate for input
that arrives as one continual stream, never cut into sequences with a state
reset between them: a cell that can only add keeps everything it ever wrote.
This module gives the chapter on the LSTM both halves of that story:

- :func:`pin_forget_gate` turns a ``torch.nn.LSTM`` into the 1997 unit by
  holding its forget gate at exactly 1 (zero weights, a bias so large that
  the sigmoid rounds to 1, so its gradient is exactly 0 and training never
  moves it), at the speed of PyTorch's kernels; :func:`set_input_bias` sets
  the input gate's bias (Hochreiter and Schmidhuber start it negative, -3 on
  the adding problem, so the gate opens only where the input asks for it);
  :func:`no_forget_model` builds the adding problem's model of a seed with both;
- :func:`continual_adding` makes the adding problem a stream: ``segments``
  adding problems of ``segment_length`` steps back to back, with a third input
  channel that marks the last step of each segment, where the answer (the sum
  of that segment's two marked values) is due; the state is never reset;
- :class:`StreamRegressor` reads a stream and answers at every marked end, and
  :func:`fit_stream` trains it for a named budget, keeps the epoch with the
  lowest validation error, and scores the test streams, which are longer
  than the training streams, once, segment by segment; :func:`stream_run`
  does both for one seed, as the sweep ``benchmarks/experiments/lstm_stream.py``
  and the chapter call it.
"""

import math
import time

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from helpers import modules
from helpers.experiments import LastStateRegressor
from helpers.layers import recurrent_layer
from helpers.tasks import adding_problem, make_loader
from helpers.training import EarlyStopping, train
from helpers.validation import _describe, check_positive_int, check_positive_number, check_seed

__all__ = [
    "PINNED_FORGET_BIAS",
    "pin_forget_gate",
    "set_input_bias",
    "no_forget_model",
    "continual_adding",
    "StreamRegressor",
    "stream_model",
    "fit_stream",
    "stream_run",
]

#: The forget-gate bias that holds sigma(a_f) at exactly 1.0 in float32 and float64
#: (exp(-1e4) underflows to 0), so that its derivative, and every gradient through it, is 0.
PINNED_FORGET_BIAS = 1e4


def _check_lstm(lstm):
    if not isinstance(lstm, (nn.LSTM, modules.LSTM)):
        raise TypeError(
            f"lstm must be a torch.nn.LSTM or helpers.modules.LSTM, got {_describe(lstm)}"
        )
    if not lstm.bias:
        raise ValueError("lstm was built with bias=False: the gates have no bias to set")
    return lstm


def pin_forget_gate(lstm):
    """Hold the forget gate of every layer of ``lstm`` at exactly 1; return ``lstm``.

    The forget block's weights (rows ``H .. 2H - 1`` of ``weight_ih`` and
    ``weight_hh``) become 0 and its bias :data:`PINNED_FORGET_BIAS`, so
    ``f_t = 1`` exactly and the cell update is ``c_t = c_{t-1} + i_t g_t``:
    the LSTM of Hochreiter and Schmidhuber (1997). The gate's derivative is 0
    exactly, so its parameters get zero gradients and no optimizer without weight
    decay moves them.
    """
    _check_lstm(lstm)
    H = lstm.hidden_size
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            if name.startswith(("weight_ih", "weight_hh")):
                parameter[H : 2 * H] = 0.0
            elif name.startswith("bias_ih"):
                parameter[H : 2 * H] = PINNED_FORGET_BIAS
            elif name.startswith("bias_hh"):
                parameter[H : 2 * H] = 0.0
    return lstm


def set_input_bias(lstm, value):
    """Set the input gate's total bias (rows ``0 .. H - 1``) of every layer to ``value``; return ``lstm``."""
    _check_lstm(lstm)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"value must be a finite number, got {value!r}")
    H = lstm.hidden_size
    with torch.no_grad():
        for name, parameter in lstm.named_parameters():
            if name.startswith("bias_ih"):
                parameter[:H] = float(value)
            elif name.startswith("bias_hh"):
                parameter[:H] = 0.0
    return lstm


def no_forget_model(*, seed, input_bias=None, hidden_size=32):
    """The adding problem's model of ``seed`` with the 1997 LSTM: the forget gate pinned at 1.

    The weights are those of ``helpers.experiments.run_adding("LSTM", ...,
    seed=seed)``'s model before training (``torch.manual_seed(seed)`` first),
    with :func:`pin_forget_gate` and, unless ``input_bias`` is ``None``,
    :func:`set_input_bias`.
    """
    torch.manual_seed(check_seed("seed", seed))
    model = LastStateRegressor("LSTM", 2, check_positive_int("hidden_size", hidden_size))
    pin_forget_gate(model.rnn)
    if input_bias is not None:
        set_input_bias(model.rnn, input_bias)
    return model


def continual_adding(num_streams, segments, segment_length, *, seed):
    """``segments`` adding problems back to back in one stream, the end of each marked.

    Args:
        num_streams: N (int >= 1).
        segments: S, the adding problems per stream (int >= 1).
        segment_length: L, the steps of each (int >= 2).
        seed: int >= 0.

    Returns:
        ``(x, y)``: ``x`` (N, S L, 3) float32 with channels value, marker (two
        per segment, as in :func:`helpers.tasks.adding_problem`) and end (1 at
        the last step of every segment, where the answer is due); ``y`` (N, S),
        the sum of the two marked values of each segment.
    """
    N = check_positive_int("num_streams", num_streams)
    S = check_positive_int("segments", segments)
    L = check_positive_int("segment_length", segment_length, minimum=2)
    x, y = adding_problem(N * S, L, seed=seed)
    end = torch.zeros(N * S, L, 1)
    end[:, -1] = 1.0
    stream = torch.cat([x, end], dim=-1).reshape(N, S * L, 3)
    return stream, y.reshape(N, S)


class StreamRegressor(nn.Module):
    """Reads a stream ``(N, S L, 3)`` and answers ``(N, S)``: a read-out of the state at every segment end."""

    def __init__(self, rnn, hidden_size):
        super().__init__()
        self.rnn = rnn
        self.read_out = nn.Linear(hidden_size, 1)

    def forward(self, x):
        states, _ = self.rnn(x)
        ends = x[0, :, 2] > 0  # the same layout for every stream of a batch
        return self.read_out(states[:, ends]).squeeze(-1)


def stream_model(*, seed, forget_gate=True, input_bias=None, hidden_size=32):
    """A :class:`StreamRegressor` of ``seed`` with a ``torch.nn.LSTM``, or the 1997 unit (``forget_gate=False``)."""
    torch.manual_seed(check_seed("seed", seed))
    rnn = recurrent_layer("LSTM", 3, check_positive_int("hidden_size", hidden_size))
    model = StreamRegressor(rnn, hidden_size)
    if not forget_gate:
        pin_forget_gate(rnn)
    if input_bias is not None:
        set_input_bias(rnn, input_bias)
    return model


def _stream_splits(segments, test_segments, segment_length, seed):
    # three independent draws, as helpers.tasks.task_splits makes them
    # (the first 32-bit word of each child: the low half of the 64-bit seeds these
    # splits were first drawn with, and all of a seed that torch's generator uses)
    children = np.random.SeedSequence(check_seed("seed", seed)).spawn(3)
    seeds = [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]
    return {
        "train": continual_adding(5000, segments, segment_length, seed=seeds[0]),
        "validation": continual_adding(200, segments, segment_length, seed=seeds[1]),
        "test": continual_adding(500, test_segments, segment_length, seed=seeds[2]),
    }


def fit_stream(
    model,
    *,
    seed,
    epochs,
    lr=1e-2,
    segments=5,
    test_segments=200,
    segment_length=20,
    batch_size=50,
    clip_norm=1.0,
):
    """Train ``model`` on continual adding streams; score it per segment on longer test streams.

    Training: 5,000 streams of ``segments`` segments, validation: 200 streams
    like them, test: 500 streams of ``test_segments`` segments (longer than
    anything seen in training, which is the point: a cell that cannot forget
    fills up). Adam with ``lr``, clipping at ``clip_norm``, ``epochs`` epochs;
    the epoch with the lowest validation error is kept.

    Returns:
        dict with ``seed``, ``epochs``, ``lr``, ``segments``, ``test_segments``,
        ``segment_length``, ``train_mse`` and ``val_mse`` per epoch,
        ``best_epoch``, ``test_mse`` (over all answers), ``test_mse_by_segment``
        (list of ``test_segments`` errors), ``test_mean_abs_cell_by_segment``
        (mean |c| at each segment end), ``seconds`` and ``model``.
    """
    if not isinstance(model, StreamRegressor):
        raise TypeError(f"model must be a StreamRegressor, got {_describe(model)}")
    check_positive_int("epochs", epochs)
    check_positive_number("lr", lr)
    splits = _stream_splits(segments, test_segments, segment_length, seed)
    start = time.perf_counter()
    history = train(
        model,
        make_loader(*splits["train"], batch_size=batch_size, shuffle=True, seed=seed),
        F.mse_loss,
        epochs=epochs,
        optimizer=torch.optim.Adam(model.parameters(), lr=lr),
        clip_norm=clip_norm,
        val_loader=make_loader(*splits["validation"], batch_size=200, shuffle=False),
        early_stopping=EarlyStopping(patience=epochs, restore_best=True),
        progress=False,
        description=f"continual adding, seed {seed}",
    )
    seconds = time.perf_counter() - start
    x_test, y_test = splits["test"]
    model.eval()
    with torch.no_grad():
        errors = (model(x_test) - y_test) ** 2  # (N, S)
        cells, state = [], None
        for segment in x_test.split(
            segment_length, dim=1
        ):  # the same stream, one segment at a time
            _, state = model.rnn(segment, state)
            cells.append(state[1].abs().mean().item())
    return {
        "seed": seed,
        "epochs": epochs,
        "lr": lr,
        "segments": segments,
        "test_segments": test_segments,
        "segment_length": segment_length,
        "train_mse": history["train_loss"],
        "val_mse": history["val_loss"],
        "best_epoch": history.best_epoch,
        "test_mse": errors.mean().item(),
        "test_mse_by_segment": errors.mean(dim=0).tolist(),
        "test_mean_abs_cell_by_segment": cells,
        "seconds": seconds,
        "model": model,
    }


def stream_run(*, seed, epochs, forget_gate=True, input_bias=None, keep_model=False, **fit_kwargs):
    """:func:`stream_model` then :func:`fit_stream` for ``seed``; the dict without ``model`` unless ``keep_model``."""
    result = fit_stream(
        stream_model(seed=seed, forget_gate=forget_gate, input_bias=input_bias),
        seed=seed,
        epochs=epochs,
        **fit_kwargs,
    )
    if not keep_model:
        del result["model"]
    return result
