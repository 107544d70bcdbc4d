"""helpers.modules' LSTM and GRU against torch.nn: same parameters, same outputs, same gradients.

The same bars as test_modules.py sets for RNN, for LSTM, GRU, LSTMCell and
GRUCell: every comparison runs in float64 with the same weights (copied with
load_state_dict, in either direction), on the CPU and, where there is one, on
a CUDA GPU. What is new here is LSTM's state, the pair (h, c): it goes in as
hx = (h_0, c_0), comes out as (h_n, c_n), and both get gradients.
"""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from test_modules import (
    CONFIGS,
    DEVICES,
    DTYPE,
    TOLERANCE,
    max_difference,
    randn,
    random_tensor,
    rnn_cases,
    rnn_tensors,
)

from helpers.modules import GRU, LSTM, GRUCell, LSTMCell, lstm_update

#: Ours and torch.nn's, by name.
LAYERS = {"LSTM": (LSTM, torch.nn.LSTM), "GRU": (GRU, torch.nn.GRU)}
CELLS = {"LSTMCell": (LSTMCell, torch.nn.LSTMCell), "GRUCell": (GRUCell, torch.nn.GRUCell)}

#: The RNN configurations of test_modules.py, without the nonlinearity LSTM and GRU do not have.
GATED_CONFIGS = [{k: v for k, v in c.items() if k != "nonlinearity"} for c in CONFIGS]


def flatten(results):
    """(output, (h_n, c_n)) -> [output, h_n, c_n]; a single tensor -> [it]."""
    if isinstance(results, torch.Tensor):
        return [results]
    return [tensor for result in results for tensor in flatten(result)]


def forward_and_gradients(module, input, hx, upstream):
    """Run module, backpropagate the given upstream gradients; return outputs and gradients.

    ``hx`` is None, a tensor, or LSTM's pair (h_0, c_0). The outputs come flat,
    in the order the module returns them; the gradients are keyed by parameter
    name, plus "input" and "hx" (or "h_0" and "c_0").
    """
    input = input.clone().requires_grad_(True)
    leaves = dict(module.named_parameters()) | {"input": input}
    if isinstance(hx, tuple):
        hx = tuple(state.clone().requires_grad_(True) for state in hx)
        leaves |= dict(zip(("h_0", "c_0"), hx))
    elif hx is not None:
        hx = hx.clone().requires_grad_(True)
        leaves["hx"] = hx
    outputs = flatten(module(input, hx))
    gradients = torch.autograd.grad(outputs, list(leaves.values()), upstream)
    return outputs, dict(zip(leaves, gradients))


def assert_same_results(ours, theirs, input, hx, upstream, names):
    """Same outputs (called ``names``, in order) and same gradients of every leaf."""
    our_outputs, our_gradients = forward_and_gradients(ours, input, hx, upstream)
    their_outputs, their_gradients = forward_and_gradients(theirs, input, hx, upstream)
    assert len(our_outputs) == len(their_outputs) == len(names)
    for name, a, b in zip(names, our_outputs, their_outputs):
        assert a.shape == b.shape, f"{name}: shape {tuple(a.shape)} vs torch's {tuple(b.shape)}"
        assert a.dtype == b.dtype and a.device == b.device, name
        assert max_difference(a, b) <= TOLERANCE, f"{name} differs by {max_difference(a, b):.2e}"
    assert our_gradients.keys() == their_gradients.keys()
    for name in our_gradients:
        difference = max_difference(our_gradients[name], their_gradients[name])
        assert difference <= TOLERANCE, f"gradient of {name} differs by {difference:.2e}"


def twins(unit, config, copy_from_torch, device, seed):
    """Ours and torch.nn's ``unit`` with the same weights, copied one way or the other."""
    ours_class, torch_class = (LAYERS | CELLS)[unit]
    torch.manual_seed(seed)
    theirs = torch_class(**config, device=device, dtype=DTYPE)
    ours = ours_class(**config, device=device, dtype=DTYPE)
    if copy_from_torch:
        ours.load_state_dict(theirs.state_dict())
    else:
        theirs.load_state_dict(ours.state_dict())
    return ours, theirs


def layer_tensors(unit, config, batch, length, with_hx, generator, device):
    """input, hx and upstream gradients; for LSTM hx is (h_0, c_0) and c_n gets a gradient too."""
    input, h_0, upstream = rnn_tensors(config, batch, length, with_hx, generator, device)
    if unit != "LSTM":
        return input, h_0, upstream
    state_shape = upstream[1].shape
    hx = (h_0, random_tensor(state_shape, generator, device)) if with_hx else None
    return input, hx, (*upstream, random_tensor(state_shape, generator, device))


def layer_outputs(unit):
    return ("output", "h_n", "c_n") if unit == "LSTM" else ("output", "h_n")


# --- LSTM and GRU: equivalence with torch.nn --------------------------------------------


def without_nonlinearity(case):
    return case | {"config": {k: v for k, v in case["config"].items() if k != "nonlinearity"}}


@pytest.mark.parametrize("unit", LAYERS)
@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=40, deadline=None)
@given(case=rnn_cases().map(without_nonlinearity))
def test_layers_match_torch_outputs_and_gradients(unit, device, case):
    config = case["config"]
    ours, theirs = twins(unit, config, case["copy_from_torch"], device, case["seed"])
    generator = torch.Generator().manual_seed(case["seed"])
    input, hx, upstream = layer_tensors(
        unit, config, case["batch"], case["length"], case["with_hx"], generator, device
    )
    assert_same_results(ours, theirs, input, hx, upstream, layer_outputs(unit))


@pytest.mark.parametrize("unit", LAYERS)
@pytest.mark.parametrize("device", DEVICES)
def test_layers_match_torch_on_a_long_deep_bidirectional_sequence(unit, device):
    config = dict(
        input_size=5,
        hidden_size=16,
        num_layers=3,
        bias=True,
        batch_first=True,
        bidirectional=True,
    )
    ours, theirs = twins(unit, config, True, device, seed=0)
    generator = torch.Generator().manual_seed(0)
    input, hx, upstream = layer_tensors(unit, config, 8, 200, True, generator, device)
    assert_same_results(ours, theirs, input, hx, upstream, layer_outputs(unit))


def test_lstm_takes_hx_as_a_list_too_like_torch():
    ours, theirs = twins("LSTM", dict(input_size=3, hidden_size=4), True, "cpu", seed=0)
    x, h_0, c_0 = randn(5, 2, 3), randn(1, 2, 4), randn(1, 2, 4)
    for a, b in zip(flatten(ours(x, [h_0, c_0])), flatten(theirs(x, [h_0, c_0]))):
        assert max_difference(a, b) <= TOLERANCE


@pytest.mark.parametrize("unit", LAYERS)
@pytest.mark.parametrize("config", GATED_CONFIGS, ids=str)
def test_layer_parameter_names_order_and_shapes_equal_torch(unit, config):
    ours_class, torch_class = LAYERS[unit]
    ours = [(name, tuple(p.shape)) for name, p in ours_class(**config).named_parameters()]
    theirs = [(name, tuple(p.shape)) for name, p in torch_class(**config).named_parameters()]
    assert ours == theirs
    assert list(ours_class(**config).state_dict()) == list(torch_class(**config).state_dict())


@pytest.mark.parametrize("unit", LAYERS)
def test_layer_without_bias_has_no_bias_attributes_like_torch(unit):
    ours_class, torch_class = LAYERS[unit]
    assert not hasattr(ours_class(3, 4, bias=False), "bias_ih_l0")
    assert not hasattr(torch_class(3, 4, bias=False), "bias_ih_l0")


@pytest.mark.parametrize("unit", LAYERS)
@pytest.mark.parametrize("config", GATED_CONFIGS, ids=str)
def test_layer_initialization_draws_the_same_numbers_as_torch(unit, config):
    ours_class, torch_class = LAYERS[unit]
    torch.manual_seed(7)
    theirs = torch_class(**config)
    torch.manual_seed(7)
    ours = ours_class(**config)
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
        assert torch.equal(a, b), name


STACKED = dict(num_layers=2, bias=False, batch_first=True, dropout=0.5, bidirectional=True)


@pytest.mark.parametrize(
    "unit, config",
    [
        *[(unit, {}) for unit in [*LAYERS, *CELLS]],
        *[(unit, dict(bias=False)) for unit in CELLS],
        *[(unit, STACKED) for unit in LAYERS],
        ("LSTM", dict(proj_size=0)),
    ],
    ids=str,
)
def test_repr_equals_torch(unit, config):
    ours_class, torch_class = (LAYERS | CELLS)[unit]
    assert repr(ours_class(3, 4, **config)) == repr(torch_class(3, 4, **config))


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_parameters_and_results_have_the_requested_device_and_dtype(device, dtype):
    modules = [
        LSTM(3, 4, num_layers=2, device=device, dtype=dtype),
        GRU(3, 4, num_layers=2, device=device, dtype=dtype),
        LSTMCell(3, 4, device=device, dtype=dtype),
        GRUCell(3, 4, device=device, dtype=dtype),
    ]
    for parameter in (p for module in modules for p in module.parameters()):
        assert parameter.device.type == device and parameter.dtype == dtype
    x = torch.randn(5, 2, 3, device=device, dtype=dtype)
    results = [*flatten(modules[0](x)), *flatten(modules[1](x))]
    results += [*flatten(modules[2](x[0])), *flatten(modules[3](x[0]))]
    assert len(results) == 3 + 2 + 2 + 1
    for result in results:
        assert result.device.type == device and result.dtype == dtype


@pytest.mark.parametrize("unit", LAYERS)
def test_layer_converted_after_construction_still_matches_torch(unit):
    # .double() replaces the parameters' data; forward must read the converted ones.
    ours_class, torch_class = LAYERS[unit]
    ours, theirs = ours_class(3, 4, num_layers=2).double(), torch_class(3, 4, num_layers=2).double()
    ours.load_state_dict(theirs.state_dict())
    x = randn(6, 2, 3)
    for a, b in zip(flatten(ours(x)), flatten(theirs(x))):
        assert max_difference(a, b) <= TOLERANCE


def test_modules_do_not_call_torch_recurrent_kernels(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("called one of torch's own recurrent kernels")

    for name in ("lstm", "gru", "lstm_cell", "gru_cell", "rnn_tanh", "rnn_relu"):
        monkeypatch.setattr(torch._VF, name, forbidden)
        monkeypatch.setattr(torch, name, forbidden)
    for module in (torch.nn.LSTM, torch.nn.GRU, torch.nn.LSTMCell, torch.nn.GRUCell):
        monkeypatch.setattr(module, "forward", forbidden)
    x = torch.randn(4, 2, 3, requires_grad=True)
    results = [
        *flatten(LSTM(3, 4, num_layers=2, bidirectional=True)(x)),
        *flatten(GRU(3, 4, num_layers=2, bidirectional=True)(x)),
        *flatten(LSTMCell(3, 4)(x[0])),
        *flatten(GRUCell(3, 4)(x[0])),
    ]
    sum(result.sum() for result in results).backward()


# --- LSTM and GRU: dropout between layers -----------------------------------------------


@pytest.mark.parametrize("unit", LAYERS)
@pytest.mark.parametrize("device", DEVICES)
def test_dropout_in_eval_mode_matches_torch(unit, device):
    config = dict(input_size=3, hidden_size=5, num_layers=3, dropout=0.5, bidirectional=True)
    ours, theirs = twins(unit, config, True, device, seed=0)
    ours.eval(), theirs.eval()
    x = randn(7, 2, 3).to(device)
    for a, b in zip(flatten(ours(x)), flatten(theirs(x))):
        assert max_difference(a, b) <= TOLERANCE


@pytest.mark.parametrize("unit", LAYERS)
def test_dropout_in_train_mode_changes_the_outputs_of_a_deep_layer(unit):
    layer = LAYERS[unit][0](3, 5, num_layers=2, dropout=0.5, dtype=DTYPE)
    x = randn(7, 2, 3)
    trained = layer.train()(x)[0]
    evaluated = layer.eval()(x)[0]
    assert max_difference(trained, evaluated) > 1e-3


@pytest.mark.parametrize("unit", LAYERS)
def test_dropout_zero_makes_train_and_eval_mode_equal(unit):
    layer = LAYERS[unit][0](3, 5, num_layers=3, dropout=0.0, bidirectional=True, dtype=DTYPE)
    x = randn(7, 2, 3)
    assert all(map(torch.equal, flatten(layer.train()(x)), flatten(layer.eval()(x))))


@pytest.mark.parametrize("unit", LAYERS)
def test_dropout_in_train_mode_matches_torch_on_cpu_with_the_same_seed(unit):
    # As for RNN: on the CPU torch draws the dropout mask with the same call after
    # the same layers, so equal seeds pin down where dropout goes.
    config = dict(input_size=3, hidden_size=5, num_layers=3, dropout=0.4, bidirectional=True)
    ours, theirs = twins(unit, config, True, "cpu", seed=0)
    ours.train(), theirs.train()
    x = randn(7, 2, 3)
    torch.manual_seed(3)
    expected = flatten(theirs(x))
    torch.manual_seed(3)
    actual = flatten(ours(x))
    for a, b in zip(actual, expected, strict=True):
        assert max_difference(a, b) <= TOLERANCE


@pytest.mark.parametrize("unit", LAYERS)
def test_dropout_with_one_layer_warns_like_torch(unit):
    with pytest.warns(UserWarning, match="dropout"):
        LAYERS[unit][0](3, 4, num_layers=1, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        LAYERS[unit][0](3, 4, num_layers=2, dropout=0.5)


# --- LSTMCell and GRUCell: equivalence with torch.nn ------------------------------------


@pytest.mark.parametrize("unit", CELLS)
@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=40, deadline=None)
@given(
    input_size=st.integers(1, 6),
    hidden_size=st.integers(1, 6),
    batch=st.one_of(st.none(), st.integers(1, 8)),
    bias=st.booleans(),
    with_hx=st.booleans(),
    copy_from_torch=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_cells_match_torch_outputs_and_gradients(
    unit, device, input_size, hidden_size, batch, bias, with_hx, copy_from_torch, seed
):
    config = dict(input_size=input_size, hidden_size=hidden_size, bias=bias)
    ours, theirs = twins(unit, config, copy_from_torch, device, seed)
    generator = torch.Generator().manual_seed(seed)
    leading = () if batch is None else (batch,)
    input = random_tensor((*leading, input_size), generator, device)
    states = 2 if unit == "LSTMCell" else 1
    hx = None
    if with_hx:
        hx = tuple(random_tensor((*leading, hidden_size), generator, device) for _ in range(states))
        hx = hx if unit == "LSTMCell" else hx[0]
    upstream = tuple(
        random_tensor((*leading, hidden_size), generator, device) for _ in range(states)
    )
    names = ("h_1", "c_1") if unit == "LSTMCell" else ("h'",)
    assert_same_results(ours, theirs, input, hx, upstream, names)


@pytest.mark.parametrize("unit", CELLS)
@pytest.mark.parametrize("bias", [True, False])
def test_cell_parameters_equal_torch(unit, bias):
    ours_class, torch_class = CELLS[unit]
    torch.manual_seed(1)
    theirs = torch_class(3, 4, bias=bias)
    torch.manual_seed(1)
    ours = ours_class(3, 4, bias=bias)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, p.shape) for n, p in theirs.named_parameters()
    ]
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
    if not bias:
        assert ours.bias_ih is None and ours.bias_hh is None


# --- Bad arguments: each error names the argument ---------------------------------------


@pytest.fixture
def lstm():
    return LSTM(4, 5, num_layers=2, dtype=DTYPE)


@pytest.fixture
def lstm_cell():
    return LSTMCell(4, 5, dtype=DTYPE)


@pytest.mark.parametrize("unit", LAYERS)
def test_layers_reject_input_of_the_wrong_rank(unit):
    with pytest.raises(ValueError, match=r"input must have 3 dimensions \(T, N, D\), or 2"):
        LAYERS[unit][0](4, 5, dtype=DTYPE)(randn(2, 6, 3, 4))
    with pytest.raises(ValueError, match=r"input must have 3 dimensions \(N, T, D\), or 2"):
        LAYERS[unit][0](4, 5, batch_first=True, dtype=DTYPE)(randn(4))


@pytest.mark.parametrize("unit", LAYERS)
def test_layers_reject_input_with_the_wrong_feature_size(unit):
    with pytest.raises(ValueError, match="input has shape .*input_size, but input has 7"):
        LAYERS[unit][0](4, 5, dtype=DTYPE)(randn(6, 3, 7))


@pytest.mark.parametrize("unit", LAYERS)
def test_layers_reject_input_of_another_dtype_or_device_than_the_parameters(unit):
    layer = LAYERS[unit][0](4, 5, dtype=DTYPE)
    with pytest.raises(TypeError, match=r"input has dtype torch.float32, expected torch.float64"):
        layer(randn(6, 3, 4, dtype=torch.float32))
    # The meta device stands in for a second device on machines without a GPU.
    with pytest.raises(ValueError, match="input is on device meta, expected cpu"):
        layer(torch.empty(6, 3, 4, dtype=DTYPE, device="meta"))


@pytest.mark.parametrize(
    "input_shape, hx_shape, match",
    [
        ((6, 3, 4), (1, 3, 5), r"hx has shape \(1, 3, 5\).*hx must have shape \(2, 3, 5\)"),
        ((6, 3, 4), (2, 5), r"hx must have 3 dimensions.*hx must have shape \(2, 3, 5\)"),
        ((6, 4), (2, 1, 5), r"hx must have 2 dimensions.*hx must have shape \(2, 5\)"),
    ],
    ids=["layers", "unbatched-hx", "batched-hx"],
)
def test_gru_rejects_hx_of_the_wrong_shape(input_shape, hx_shape, match):
    with pytest.raises(ValueError, match=match):
        GRU(4, 5, num_layers=2, dtype=DTYPE)(randn(*input_shape), randn(*hx_shape))


def test_gru_rejects_hx_of_another_dtype_than_the_parameters():
    with pytest.raises(TypeError, match=r"hx has dtype torch.float32, expected torch.float64"):
        GRU(4, 5, dtype=DTYPE)(randn(6, 3, 4), randn(1, 3, 5, dtype=torch.float32))


@pytest.mark.parametrize(
    "make_hx, received",
    [
        (lambda s: s, r"a single tensor of shape \(2, 3, 5\)"),
        (lambda s: (s,), r"a tuple of length 1 \(Tensor\)"),
        (lambda s: [s, s, s], r"a list of length 3"),
        (lambda s: (s, None), r"a tuple of length 2 \(Tensor, NoneType\)"),
    ],
    ids=["tensor", "one-tuple", "three-list", "None-inside"],
)
def test_lstm_rejects_hx_that_is_not_a_pair(lstm, make_hx, received):
    expected = r"LSTM expects hx to be a tuple \(h_0, c_0\) of two tensors.*got " + received
    with pytest.raises(TypeError, match=expected):
        lstm(randn(6, 3, 4), make_hx(randn(2, 3, 5)))


# The LSTM below has 2 layers and hidden_size 5; a batch of 3 needs states of shape (2, 3, 5).
@pytest.mark.parametrize(
    "input_shape, h_0_shape, c_0_shape, match",
    [
        (
            (6, 3, 4),
            (1, 3, 5),
            (2, 3, 5),
            r"h_0 has shape \(1, 3, 5\).*h_0 must have shape \(2, 3, 5\)",
        ),
        (
            (6, 3, 4),
            (2, 3, 5),
            (2, 4, 5),
            r"N = 3 comes from input.*c_0 must have shape \(2, 3, 5\)",
        ),
        ((6, 3, 4), (2, 3, 5), (2, 3, 6), r"but c_0 has 6.*c_0 must have shape \(2, 3, 5\)"),
        ((6, 3, 4), (2, 5), (2, 5), r"h_0 must have 3 dimensions.*h_0 must have shape \(2, 3, 5\)"),
        ((6, 4), (2, 5), (2, 1, 5), r"c_0 must have 2 dimensions.*c_0 must have shape \(2, 5\)"),
    ],
    ids=["h_0-layers", "c_0-batch", "c_0-hidden", "unbatched-h_0", "batched-c_0"],
)
def test_lstm_rejects_h_0_and_c_0_of_the_wrong_shape(
    lstm, input_shape, h_0_shape, c_0_shape, match
):
    with pytest.raises(ValueError, match=match):
        lstm(randn(*input_shape), (randn(*h_0_shape), randn(*c_0_shape)))


def test_lstm_rejects_states_of_another_dtype_or_device_than_the_parameters(lstm):
    x, good = randn(6, 3, 4), randn(2, 3, 5)
    with pytest.raises(TypeError, match=r"c_0 has dtype torch.float32, expected torch.float64"):
        lstm(x, (good, randn(2, 3, 5, dtype=torch.float32)))
    with pytest.raises(TypeError, match="h_0 must be a floating-point tensor"):
        lstm(x, (torch.zeros(2, 3, 5, dtype=torch.long), good))
    with pytest.raises(ValueError, match="c_0 is on device meta, expected cpu"):
        lstm(x, (good, torch.empty(2, 3, 5, dtype=DTYPE, device="meta")))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_lstm_rejects_states_on_another_device_than_the_parameters():
    lstm = LSTM(4, 5, num_layers=2, dtype=DTYPE, device="cuda")
    x, good = randn(6, 3, 4).cuda(), randn(2, 3, 5).cuda()
    with pytest.raises(ValueError, match="h_0 is on device cpu, expected cuda"):
        lstm(x, (randn(2, 3, 5), good))
    with pytest.raises(ValueError, match="c_0 is on device cpu, expected cuda"):
        lstm(x, (good, randn(2, 3, 5)))


def test_lstm_cell_rejects_hx_that_is_not_a_pair(lstm_cell):
    expected = r"LSTMCell expects hx to be a tuple \(h_0, c_0\).*got a single tensor"
    with pytest.raises(TypeError, match=expected):
        lstm_cell(randn(3, 4), randn(3, 5))


@pytest.mark.parametrize(
    "input_shape, h_0_shape, c_0_shape, match",
    [
        ((3, 4), (3, 6), (3, 5), r"h_0 has shape \(3, 6\).*h_0 must have shape \(3, 5\)"),
        ((3, 4), (3, 5), (5,), r"c_0 must have 2 dimensions.*c_0 must have shape \(3, 5\)"),
        ((4,), (5,), (1, 5), r"c_0 must have 1 dimensions.*c_0 must have shape \(5,\)"),
    ],
    ids=["h_0-hidden", "unbatched-c_0", "batched-c_0"],
)
def test_lstm_cell_rejects_h_0_and_c_0_of_the_wrong_shape(
    lstm_cell, input_shape, h_0_shape, c_0_shape, match
):
    with pytest.raises(ValueError, match=match):
        lstm_cell(randn(*input_shape), (randn(*h_0_shape), randn(*c_0_shape)))


def test_lstm_cell_rejects_states_of_another_dtype_than_the_parameters(lstm_cell):
    with pytest.raises(TypeError, match=r"c_0 has dtype torch.float32, expected torch.float64"):
        lstm_cell(randn(3, 4), (randn(3, 5), randn(3, 5, dtype=torch.float32)))


@pytest.mark.parametrize("unit", CELLS)
def test_cells_reject_bad_input(unit):
    cell = CELLS[unit][0](4, 5, dtype=DTYPE)
    with pytest.raises(ValueError, match=r"input must have 2 dimensions \(N, D\), or 1"):
        cell(randn(6, 3, 4))
    with pytest.raises(ValueError, match="input has shape .*input_size, but input has 7"):
        cell(randn(3, 7))
    with pytest.raises(TypeError, match=r"input has dtype torch.float32, expected torch.float64"):
        cell(randn(3, 4, dtype=torch.float32))


def test_gru_cell_rejects_hx_of_the_wrong_shape():
    cell = GRUCell(4, 5, dtype=DTYPE)
    with pytest.raises(ValueError, match=r"hx has shape \(3, 6\).*hx must have shape \(3, 5\)"):
        cell(randn(3, 4), randn(3, 6))
    with pytest.raises(ValueError, match=r"hx must have 2 dimensions.*hx must have shape \(3, 5\)"):
        cell(randn(3, 4), randn(5))


def test_lstm_accepts_proj_size_zero_and_refuses_projections():
    assert LSTM(4, 5, proj_size=0).proj_size == 0
    with pytest.raises(ValueError, match="proj_size=2 is not supported"):
        LSTM(4, 5, proj_size=2)
    with pytest.raises(ValueError, match="proj_size must be an int >= 0"):
        LSTM(4, 5, proj_size=-1)
    with pytest.raises(TypeError, match="proj_size must be an int"):
        LSTM(4, 5, proj_size=1.5)


@pytest.mark.parametrize("module", [LSTM, GRU, LSTMCell, GRUCell])
@pytest.mark.parametrize(
    "arguments, error, match",
    [
        (dict(input_size=4, hidden_size=0), ValueError, "hidden_size must be an int >= 1"),
        (dict(input_size=4, hidden_size=2.5), TypeError, "hidden_size must be an int"),
        (dict(input_size=0, hidden_size=5), ValueError, "input_size must be an int >= 1"),
        (dict(input_size=4, hidden_size=5, bias="yes"), ValueError, "bias"),
        (dict(input_size=4, hidden_size=5, dtype=torch.int64), TypeError, "dtype"),
    ],
    ids=["hidden_size", "hidden_size-type", "input_size", "bias", "dtype"],
)
def test_constructors_reject_invalid_arguments(module, arguments, error, match):
    with pytest.raises(error, match=match):
        module(**arguments)


@pytest.mark.parametrize("unit", LAYERS)
@pytest.mark.parametrize(
    "arguments, error, match",
    [
        (dict(num_layers=0), ValueError, "num_layers must be an int >= 1"),
        (dict(dropout=1.5), ValueError, r"dropout must be in \[0, 1\]"),
        (dict(batch_first="yes"), ValueError, "batch_first"),
        (dict(bidirectional=2), ValueError, "bidirectional"),
    ],
    ids=["num_layers", "dropout", "batch_first", "bidirectional"],
)
def test_layer_constructors_reject_invalid_stacking_arguments(unit, arguments, error, match):
    with pytest.raises(error, match=match):
        LAYERS[unit][0](4, 5, **arguments)


@pytest.mark.parametrize("batched", [True, False])
def test_lstm_update_returns_the_gates_it_used_when_asked(batched):
    """The one LSTM step also hands out its gates (the gate explorer reads them)."""
    torch.manual_seed(0)
    N, H = 3, 4
    shape = (N, H) if batched else (H,)
    x_projected = torch.randn(*shape[:-1], 4 * H, dtype=torch.float64)
    h, c = torch.randn(shape, dtype=torch.float64), torch.randn(shape, dtype=torch.float64)
    weight_hh = torch.randn(4 * H, H, dtype=torch.float64)
    bias_hh = torch.randn(4 * H, dtype=torch.float64)
    h_new, c_new, (i, f, g, o) = lstm_update(
        x_projected, h, c, weight_hh, bias_hh, return_gates=True
    )
    assert all(
        torch.equal(a, b)
        for a, b in zip((h_new, c_new), lstm_update(x_projected, h, c, weight_hh, bias_hh))
    )
    a_i, a_f, a_g, a_o = (x_projected + h @ weight_hh.T + bias_hh).chunk(4, dim=-1)
    for gate, want in (
        (i, torch.sigmoid(a_i)),
        (f, torch.sigmoid(a_f)),
        (g, torch.tanh(a_g)),
        (o, torch.sigmoid(a_o)),
    ):
        torch.testing.assert_close(gate, want)
    torch.testing.assert_close(c_new, f * c + i * g)
    torch.testing.assert_close(h_new, o * torch.tanh(c_new))
