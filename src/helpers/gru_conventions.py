"""The two GRUs with one name, trained side by side: does the position of the reset gate matter?

PyTorch's GRU (``torch.nn.GRU``, cuDNN, Keras with ``reset_after=True``)
applies the reset gate *after* the recurrent matrix product and keeps the old
state with ``z``; the form of Chung et al. (2014) applies it *before* the
product and keeps the old state with ``1 - z``. :mod:`helpers.numpy_gru` and
:func:`helpers.modules.gru_update` implement PyTorch's form;
:class:`ResetBeforeGRU` is :class:`helpers.modules.GRU` with the other step,
so the two share everything else: parameters, their names and shapes, the
initial weights, the loop over time.

:func:`convention_run` trains one of them on the adding problem with one seed,
from the initial weights that seed gives PyTorch's form, until validation
stops improving, and scores the best epoch once on the test split. The chapter
"Gated recurrent units" and ``benchmarks/experiments/gru_conventions.py``
both call it, so the committed comparison and the chapter's live rerun are the
same code.
"""

import torch

from helpers.experiments import LastStateRegressor, train_adding
from helpers.modules import GRU
from helpers.training import EarlyStopping
from helpers.validation import check_choice, check_seed

__all__ = [
    "CONVENTIONS",
    "ResetBeforeGRU",
    "convention_run",
    "model_from_weights",
    "SEEDS",
    "LENGTH",
    "MAX_EPOCHS",
    "PATIENCE",
]

#: The two forms: ``"reset after"`` (PyTorch's) and ``"reset before"`` (Chung et al. 2014).
CONVENTIONS = ("reset after", "reset before")

#: The experiment's design: seeds, the adding problem's length, the budget and patience.
SEEDS = (0, 1, 2, 3, 4)
LENGTH = 100
MAX_EPOCHS = 10
PATIENCE = 10


class ResetBeforeGRU(GRU):
    r""":class:`helpers.modules.GRU` with the step of Chung et al. (2014); same parameters.

    .. math::

        \tilde h_t = \tanh\bigl(x_t W_{in}^T + b_{in} + (r_t \odot h_{t-1}) W_{hn}^T + b_{hn}\bigr),
        \qquad h_t = (1 - z_t) \odot h_{t-1} + z_t \odot \tilde h_t

    with :math:`r_t` and :math:`z_t` as in PyTorch's GRU. The reset gate acts
    on the state before the product, so the candidate's product must wait for
    :math:`r_t`: three recurrent products per step instead of one.
    """

    def _step(self, x_projected, state, weight_hh, bias_hh):
        (h_prev,) = state
        x_r, x_z, x_n = x_projected.chunk(3, dim=-1)
        W_r, W_z, W_n = weight_hh.chunk(3, dim=0)
        b_r, b_z, b_n = bias_hh.chunk(3)
        r = torch.sigmoid(x_r + h_prev @ W_r.T + b_r)
        z = torch.sigmoid(x_z + h_prev @ W_z.T + b_z)
        h_tilde = torch.tanh(x_n + (r * h_prev) @ W_n.T + b_n)
        return ((1 - z) * h_prev + z * h_tilde,)


def convention_run(
    convention,
    *,
    seed,
    length=LENGTH,
    lr=1e-2,
    max_epochs=MAX_EPOCHS,
    patience=PATIENCE,
    hidden_size=32,
    device=None,
    keep_model=False,
    store_weights=False,
):
    """Train one GRU form on the adding problem until validation stops improving.

    Both forms start from the weights ``torch.manual_seed(seed)`` gives a
    :class:`helpers.experiments.LastStateRegressor` with the book's
    from-scratch GRU, and see the same data and batches
    (:func:`helpers.experiments.train_adding` with ``seed``): the position of
    the reset gate (and the relabelling of ``z``) is the only difference.

    Args:
        convention: ``"reset after"`` (PyTorch's) or ``"reset before"`` (Chung et al.).
        seed: int >= 0.
        length: the adding problem's T.
        lr, max_epochs, patience, hidden_size: the recipe (Adam, clipping at 1,
            batch 50; early stopping on the validation MSE).
        device: where to train (default the CPU).
        keep_model: also return the trained model (key ``model``; not JSON-able).
        store_weights: also return the trained model's ``state_dict`` as lists
            of numbers (key ``weights``; JSON-able), so that an artefact can hand
            the converged model to a chapter (:func:`model_from_weights`).

    Returns:
        dict: ``convention``, ``seed``, ``length``, ``lr``, ``max_epochs``,
        ``patience``, ``parameters``, ``train_loss`` and ``val_loss`` per epoch
        (MSE), ``best_epoch``, ``stopped_early``, ``test_mse`` (the best epoch's
        model, scored once) and ``baseline_mse`` (always answering 1).
    """
    check_choice("convention", convention, CONVENTIONS)
    torch.manual_seed(check_seed("seed", seed))
    model = LastStateRegressor("GRU", 2, hidden_size, implementation="scratch")
    if convention == "reset before":
        reset_before = ResetBeforeGRU(2, hidden_size, batch_first=True)
        reset_before.load_state_dict(model.rnn.state_dict())
        model.rnn = reset_before
    result = train_adding(
        model,
        length,
        seed=seed,
        lr=lr,
        epochs=max_epochs,
        device=device,
        early_stopping=EarlyStopping(patience=patience),
        description=f"GRU ({convention}), adding T = {length}, seed {seed}",
    )
    record = {
        "convention": convention,
        "seed": seed,
        "length": length,
        "lr": lr,
        "max_epochs": max_epochs,
        "patience": patience,
        "parameters": result["parameters"],
        "train_loss": result["train_mse"],
        "val_loss": result["val_mse"],
        "best_epoch": result["best_epoch"],
        "stopped_early": result["stopped_early"],
        "test_mse": result["test_mse"],
        "baseline_mse": result["baseline_mse"],
    }
    if keep_model:
        record["model"] = result["model"]
    if store_weights:
        record["weights"] = {
            name: value.tolist() for name, value in result["model"].state_dict().items()
        }
    return record


def model_from_weights(weights, convention="reset after", hidden_size=32):
    """The model of :func:`convention_run` with the weights it stored (``store_weights=True``)."""
    check_choice("convention", convention, CONVENTIONS)
    model = LastStateRegressor("GRU", 2, hidden_size, implementation="scratch")
    if convention == "reset before":
        model.rnn = ResetBeforeGRU(2, hidden_size, batch_first=True)
    model.load_state_dict({name: torch.tensor(value) for name, value in weights.items()})
    return model.eval()
