"""helpers.modules against torch.nn: same parameters, same outputs, same gradients.

Every comparison runs in float64 with the same weights (copied with
load_state_dict), on the CPU and, where there is one, on a CUDA GPU.
"""

import warnings

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from helpers.modules import RNN, RNNCell

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
DTYPE = torch.float64
TOLERANCE = 1e-10


def max_difference(ours, theirs):
    return (ours - theirs).abs().max().item()


def random_tensor(shape, generator, device):
    # Drawn on the CPU from a seeded generator, so a failing example replays exactly.
    return torch.randn(shape, generator=generator, dtype=DTYPE).to(device)


def forward_and_gradients(module, input, hx, upstream):
    """Run module, backpropagate the given upstream gradients; return outputs and gradients.

    The gradients are keyed by parameter name, plus "input" and "hx".
    """
    input = input.clone().requires_grad_(True)
    leaves = dict(module.named_parameters()) | {"input": input}
    if hx is not None:
        hx = hx.clone().requires_grad_(True)
        leaves["hx"] = hx
    outputs = module(input, hx)
    outputs = outputs if isinstance(outputs, tuple) else (outputs,)
    gradients = torch.autograd.grad(outputs, list(leaves.values()), upstream)
    return outputs, dict(zip(leaves, gradients))


def assert_same_results(ours, theirs, input, hx, upstream):
    our_outputs, our_gradients = forward_and_gradients(ours, input, hx, upstream)
    their_outputs, their_gradients = forward_and_gradients(theirs, input, hx, upstream)
    for name, a, b in zip(("output", "h_n"), our_outputs, their_outputs):
        assert a.shape == b.shape, f"{name}: shape {tuple(a.shape)} vs torch's {tuple(b.shape)}"
        assert a.dtype == b.dtype and a.device == b.device, name
        assert max_difference(a, b) <= TOLERANCE, f"{name} differs by {max_difference(a, b):.2e}"
    assert our_gradients.keys() == their_gradients.keys()
    for name in our_gradients:
        difference = max_difference(our_gradients[name], their_gradients[name])
        assert difference <= TOLERANCE, f"gradient of {name} differs by {difference:.2e}"


# --- RNN: equivalence with torch.nn.RNN -------------------------------------------------


@st.composite
def rnn_cases(draw):
    return {
        "config": {
            "input_size": draw(st.integers(1, 6)),
            "hidden_size": draw(st.integers(1, 6)),
            "num_layers": draw(st.integers(1, 3)),
            "nonlinearity": draw(st.sampled_from(["tanh", "relu"])),
            "bias": draw(st.booleans()),
            "batch_first": draw(st.booleans()),
            "bidirectional": draw(st.booleans()),
        },
        "batch": draw(st.one_of(st.none(), st.integers(1, 8))),  # None: unbatched input
        "length": draw(st.integers(1, 50)),
        "with_hx": draw(st.booleans()),
        "copy_from_torch": draw(st.booleans()),
        "seed": draw(st.integers(0, 2**31 - 1)),
    }


def rnn_tensors(config, batch, length, with_hx, generator, device):
    """input, hx (or None) and upstream gradients for output and h_n, shaped as torch expects."""
    directions = 2 if config["bidirectional"] else 1
    states = config["num_layers"] * directions
    hidden = config["hidden_size"]
    if batch is None:
        input_shape = (length, config["input_size"])
        output_shape, state_shape = (length, directions * hidden), (states, hidden)
    elif config["batch_first"]:
        input_shape = (batch, length, config["input_size"])
        output_shape, state_shape = (batch, length, directions * hidden), (states, batch, hidden)
    else:
        input_shape = (length, batch, config["input_size"])
        output_shape, state_shape = (length, batch, directions * hidden), (states, batch, hidden)
    input = random_tensor(input_shape, generator, device)
    hx = random_tensor(state_shape, generator, device) if with_hx else None
    upstream = (
        random_tensor(output_shape, generator, device),
        random_tensor(state_shape, generator, device),
    )
    return input, hx, upstream


def twin_rnns(config, copy_from_torch, device, seed):
    """Ours and torch.nn.RNN with the same weights, copied one way or the other."""
    torch.manual_seed(seed)
    theirs = torch.nn.RNN(**config, device=device, dtype=DTYPE)
    ours = RNN(**config, device=device, dtype=DTYPE)
    if copy_from_torch:
        ours.load_state_dict(theirs.state_dict())
    else:
        theirs.load_state_dict(ours.state_dict())
    return ours, theirs


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=40, deadline=None)
@given(case=rnn_cases())
def test_rnn_matches_torch_outputs_and_gradients(device, case):
    ours, theirs = twin_rnns(case["config"], case["copy_from_torch"], device, case["seed"])
    generator = torch.Generator().manual_seed(case["seed"])
    input, hx, upstream = rnn_tensors(
        case["config"], case["batch"], case["length"], case["with_hx"], generator, device
    )
    assert_same_results(ours, theirs, input, hx, upstream)


@pytest.mark.parametrize("device", DEVICES)
def test_rnn_matches_torch_on_a_long_deep_bidirectional_sequence(device):
    config = dict(
        input_size=5,
        hidden_size=16,
        num_layers=3,
        nonlinearity="tanh",
        bias=True,
        batch_first=True,
        bidirectional=True,
    )
    ours, theirs = twin_rnns(config, True, device, seed=0)
    generator = torch.Generator().manual_seed(0)
    input, hx, upstream = rnn_tensors(config, 8, 200, True, generator, device)
    assert_same_results(ours, theirs, input, hx, upstream)


CONFIGS = [
    dict(input_size=3, hidden_size=4),
    dict(input_size=3, hidden_size=4, num_layers=3),
    dict(input_size=3, hidden_size=4, bias=False),
    dict(input_size=3, hidden_size=4, bidirectional=True),
    dict(input_size=3, hidden_size=4, num_layers=2, bidirectional=True, bias=False),
    dict(input_size=1, hidden_size=1, num_layers=3, bidirectional=True, nonlinearity="relu"),
]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_rnn_parameter_names_order_and_shapes_equal_torch(config):
    ours = [(name, tuple(p.shape)) for name, p in RNN(**config).named_parameters()]
    theirs = [(name, tuple(p.shape)) for name, p in torch.nn.RNN(**config).named_parameters()]
    assert ours == theirs
    assert list(RNN(**config).state_dict()) == list(torch.nn.RNN(**config).state_dict())


def test_rnn_without_bias_has_no_bias_attributes_like_torch():
    assert not hasattr(RNN(3, 4, bias=False), "bias_ih_l0")
    assert not hasattr(torch.nn.RNN(3, 4, bias=False), "bias_ih_l0")


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_rnn_initialization_draws_the_same_numbers_as_torch(config):
    torch.manual_seed(7)
    theirs = torch.nn.RNN(**config)
    torch.manual_seed(7)
    ours = RNN(**config)
    for (name, a), b in zip(ours.named_parameters(), theirs.parameters()):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("hidden_size", [1, 4, 100])
def test_initialization_is_uniform_within_one_over_sqrt_hidden_size(hidden_size):
    bound = hidden_size**-0.5
    torch.manual_seed(0)
    modules = (RNN(50, hidden_size, num_layers=2, bidirectional=True), RNNCell(50, hidden_size))
    for module in modules:
        values = torch.cat([p.detach().flatten() for p in module.parameters()])
        assert values.abs().max() <= bound
        # Uniform, not clustered: the extremes come close to the bound, and the mean
        # is within 4 standard errors of 0 (U(-b, b) has standard deviation b / sqrt(3)).
        assert values.max() > 0.9 * bound and values.min() < -0.9 * bound
        assert abs(values.mean().item()) < 4 * bound / (3 * values.numel()) ** 0.5


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_parameters_and_results_have_the_requested_device_and_dtype(device, dtype):
    rnn = RNN(3, 4, num_layers=2, device=device, dtype=dtype)
    cell = RNNCell(3, 4, device=device, dtype=dtype)
    for parameter in [*rnn.parameters(), *cell.parameters()]:
        assert parameter.device.type == device and parameter.dtype == dtype
    output, h_n = rnn(torch.randn(5, 2, 3, device=device, dtype=dtype))
    h = cell(torch.randn(2, 3, device=device, dtype=dtype))
    for result in (output, h_n, h):
        assert result.device.type == device and result.dtype == dtype


def test_module_converted_after_construction_still_matches_torch():
    # .double() replaces the parameters' data; forward must read the converted ones.
    torch.manual_seed(0)
    ours, theirs = RNN(3, 4, num_layers=2).double(), torch.nn.RNN(3, 4, num_layers=2).double()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(6, 2, 3, dtype=DTYPE)
    assert max_difference(ours(x)[0], theirs(x)[0]) <= TOLERANCE


def test_modules_do_not_call_torch_recurrent_kernels(monkeypatch):
    def forbidden(*args, **kwargs):
        raise AssertionError("called one of torch's own RNN kernels")

    for name in ("rnn_tanh", "rnn_relu", "rnn_tanh_cell", "rnn_relu_cell"):
        monkeypatch.setattr(torch._VF, name, forbidden)
    x = torch.randn(4, 2, 3)
    RNN(3, 4, num_layers=2, bidirectional=True)(x)
    RNN(3, 4, nonlinearity="relu")(x)
    RNNCell(3, 4)(x[0])
    RNNCell(3, 4, nonlinearity="relu")(x[0])


# --- RNN: dropout between layers --------------------------------------------------------


@pytest.mark.parametrize("device", DEVICES)
def test_dropout_in_eval_mode_matches_torch(device):
    config = dict(input_size=3, hidden_size=5, num_layers=3, dropout=0.5, bidirectional=True)
    torch.manual_seed(0)
    theirs = torch.nn.RNN(**config, device=device, dtype=DTYPE).eval()
    ours = RNN(**config, device=device, dtype=DTYPE).eval()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(7, 2, 3, dtype=DTYPE).to(device)
    for a, b in zip(ours(x), theirs(x)):
        assert max_difference(a, b) <= TOLERANCE


def test_dropout_in_train_mode_changes_the_outputs_of_a_deep_rnn():
    rnn = RNN(3, 5, num_layers=2, dropout=0.5, dtype=DTYPE)
    x = torch.randn(7, 2, 3, dtype=DTYPE)
    trained = rnn.train()(x)[0]
    evaluated = rnn.eval()(x)[0]
    assert max_difference(trained, evaluated) > 1e-3


def test_dropout_zero_makes_train_and_eval_mode_equal():
    rnn = RNN(3, 5, num_layers=3, dropout=0.0, bidirectional=True, dtype=DTYPE)
    x = torch.randn(7, 2, 3, dtype=DTYPE)
    assert torch.equal(rnn.train()(x)[0], rnn.eval()(x)[0])


def test_dropout_in_train_mode_matches_torch_on_cpu_with_the_same_seed():
    # On the CPU torch.nn.RNN draws its dropout mask with the same call after the
    # same layers, so equal seeds give equal masks: this pins down *where* dropout
    # goes (after every layer but the last, on both directions together). cuDNN
    # draws its masks differently, hence CPU only.
    config = dict(input_size=3, hidden_size=5, num_layers=3, dropout=0.4, bidirectional=True)
    theirs = torch.nn.RNN(**config, dtype=DTYPE).train()
    ours = RNN(**config, dtype=DTYPE).train()
    ours.load_state_dict(theirs.state_dict())
    x = torch.randn(7, 2, 3, dtype=DTYPE)
    torch.manual_seed(3)
    expected = theirs(x)
    torch.manual_seed(3)
    actual = ours(x)
    for a, b in zip(actual, expected):
        assert max_difference(a, b) <= TOLERANCE


def test_dropout_with_one_layer_warns_like_torch():
    with pytest.warns(UserWarning, match="dropout"):
        RNN(3, 4, num_layers=1, dropout=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        RNN(3, 4, num_layers=2, dropout=0.5)


# --- RNNCell: equivalence with torch.nn.RNNCell -----------------------------------------


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=40, deadline=None)
@given(
    input_size=st.integers(1, 6),
    hidden_size=st.integers(1, 6),
    batch=st.one_of(st.none(), st.integers(1, 8)),
    bias=st.booleans(),
    nonlinearity=st.sampled_from(["tanh", "relu"]),
    with_hx=st.booleans(),
    copy_from_torch=st.booleans(),
    seed=st.integers(0, 2**31 - 1),
)
def test_rnn_cell_matches_torch_outputs_and_gradients(
    device, input_size, hidden_size, batch, bias, nonlinearity, with_hx, copy_from_torch, seed
):
    config = dict(
        input_size=input_size, hidden_size=hidden_size, bias=bias, nonlinearity=nonlinearity
    )
    torch.manual_seed(seed)
    theirs = torch.nn.RNNCell(**config, device=device, dtype=DTYPE)
    ours = RNNCell(**config, device=device, dtype=DTYPE)
    if copy_from_torch:
        ours.load_state_dict(theirs.state_dict())
    else:
        theirs.load_state_dict(ours.state_dict())
    generator = torch.Generator().manual_seed(seed)
    leading = () if batch is None else (batch,)
    input = random_tensor((*leading, input_size), generator, device)
    hx = random_tensor((*leading, hidden_size), generator, device) if with_hx else None
    upstream = (random_tensor((*leading, hidden_size), generator, device),)
    assert_same_results(ours, theirs, input, hx, upstream)


@pytest.mark.parametrize("bias", [True, False])
def test_rnn_cell_parameters_equal_torch(bias):
    torch.manual_seed(1)
    theirs = torch.nn.RNNCell(3, 4, bias=bias)
    torch.manual_seed(1)
    ours = RNNCell(3, 4, bias=bias)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, p.shape) for n, p in theirs.named_parameters()
    ]
    for a, b in zip(ours.parameters(), theirs.parameters()):
        assert torch.equal(a, b)
    if not bias:
        assert ours.bias_ih is None and ours.bias_hh is None


# --- Bad arguments: each error names the argument ---------------------------------------


@pytest.fixture
def rnn():
    return RNN(4, 5, num_layers=2, dtype=DTYPE)


@pytest.fixture
def cell():
    return RNNCell(4, 5, dtype=DTYPE)


def randn(*shape, dtype=DTYPE):
    return torch.randn(*shape, dtype=dtype)


def test_rnn_rejects_input_of_the_wrong_rank(rnn):
    with pytest.raises(ValueError, match=r"input must have 3 dimensions \(T, N, D\), or 2"):
        rnn(randn(2, 6, 3, 4))


def test_rnn_rejects_input_with_the_wrong_feature_size(rnn):
    with pytest.raises(ValueError, match="input has shape .*input_size, but input has 7"):
        rnn(randn(6, 3, 7))


def test_rnn_batch_first_names_the_batch_first_layout():
    with pytest.raises(ValueError, match=r"expected \(N, T, D\)"):
        RNN(4, 5, batch_first=True, dtype=DTYPE)(randn(2, 6, 3))


def test_rnn_rejects_hx_with_the_wrong_number_of_layers(rnn):
    expected = r"hx has shape \(1, 3, 5\).*hx must have shape \(2, 3, 5\)"
    with pytest.raises(ValueError, match=expected):
        rnn(randn(6, 3, 4), randn(1, 3, 5))


def test_rnn_rejects_hx_with_the_wrong_batch_size(rnn):
    with pytest.raises(ValueError, match=r"N = 3 comes from input.*hx must have shape \(2, 3, 5\)"):
        rnn(randn(6, 3, 4), randn(2, 4, 5))


def test_rnn_rejects_hx_with_the_wrong_hidden_size(rnn):
    expected = r"hidden_size, but hx has 6.*hx must have shape \(2, 3, 5\)"
    with pytest.raises(ValueError, match=expected):
        rnn(randn(6, 3, 4), randn(2, 3, 6))


def test_rnn_rejects_unbatched_hx_for_batched_input(rnn):
    expected = r"hx must have 3 dimensions.*hx must have shape \(2, 3, 5\)"
    with pytest.raises(ValueError, match=expected):
        rnn(randn(6, 3, 4), randn(2, 5))


def test_rnn_rejects_batched_hx_for_unbatched_input(rnn):
    with pytest.raises(ValueError, match=r"hx must have 2 dimensions.*hx must have shape \(2, 5\)"):
        rnn(randn(6, 4), randn(2, 1, 5))


def test_rnn_rejects_an_empty_sequence(rnn):
    with pytest.raises(ValueError, match="input has shape .*empty sequence"):
        rnn(randn(0, 3, 4))


def test_rnn_rejects_an_empty_batch(rnn):
    with pytest.raises(ValueError, match="input has shape .*empty batch"):
        rnn(randn(6, 0, 4))


def test_rnn_rejects_integer_input(rnn):
    with pytest.raises(TypeError, match="input must be a floating-point tensor"):
        rnn(torch.ones(6, 3, 4, dtype=torch.long))


def test_rnn_rejects_input_that_is_not_a_tensor(rnn):
    with pytest.raises(TypeError, match="input must be a torch.Tensor"):
        rnn(randn(6, 3, 4).numpy())


def test_rnn_rejects_input_of_another_dtype_than_the_parameters(rnn):
    with pytest.raises(TypeError, match=r"input has dtype torch.float32, expected torch.float64"):
        rnn(randn(6, 3, 4, dtype=torch.float32))


def test_rnn_rejects_hx_of_another_dtype_than_the_parameters(rnn):
    with pytest.raises(TypeError, match=r"hx has dtype torch.float32, expected torch.float64"):
        rnn(randn(6, 3, 4), randn(2, 3, 5, dtype=torch.float32))


def test_rnn_rejects_integer_hx(rnn):
    with pytest.raises(TypeError, match="hx must be a floating-point tensor"):
        rnn(randn(6, 3, 4), torch.zeros(2, 3, 5, dtype=torch.long))


def test_rnn_rejects_input_on_another_device_than_the_parameters(rnn):
    # The meta device stands in for a second device on machines without a GPU.
    with pytest.raises(ValueError, match="input is on device meta, expected cpu"):
        rnn(torch.empty(6, 3, 4, dtype=DTYPE, device="meta"))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU")
def test_rnn_rejects_hx_on_another_device_than_the_parameters():
    rnn = RNN(4, 5, num_layers=2, dtype=DTYPE, device="cuda")
    with pytest.raises(ValueError, match="hx is on device cpu, expected cuda"):
        rnn(randn(6, 3, 4).cuda(), randn(2, 3, 5))
    with pytest.raises(ValueError, match="input is on device cpu, expected cuda"):
        rnn(randn(6, 3, 4))


def test_cell_rejects_input_of_the_wrong_rank(cell):
    with pytest.raises(ValueError, match=r"input must have 2 dimensions \(N, D\), or 1"):
        cell(randn(6, 3, 4))


def test_cell_rejects_input_with_the_wrong_feature_size(cell):
    with pytest.raises(ValueError, match="input has shape .*input_size, but input has 7"):
        cell(randn(3, 7))


def test_cell_rejects_hx_of_the_wrong_shape(cell):
    with pytest.raises(ValueError, match=r"hx has shape \(3, 6\).*hx must have shape \(3, 5\)"):
        cell(randn(3, 4), randn(3, 6))
    with pytest.raises(ValueError, match=r"hx must have 2 dimensions.*hx must have shape \(3, 5\)"):
        cell(randn(3, 4), randn(5))


def test_cell_rejects_input_of_another_dtype_than_the_parameters(cell):
    with pytest.raises(TypeError, match=r"input has dtype torch.float32, expected torch.float64"):
        cell(randn(3, 4, dtype=torch.float32))


def test_cell_rejects_an_empty_batch(cell):
    with pytest.raises(ValueError, match="input has shape .*empty batch"):
        cell(randn(0, 4))


@pytest.mark.parametrize("module", [RNN, RNNCell])
@pytest.mark.parametrize(
    "arguments, error, match",
    [
        (dict(input_size=4, hidden_size=5, nonlinearity="sigmoid"), ValueError, "nonlinearity"),
        (dict(input_size=4, hidden_size=0), ValueError, "hidden_size must be an int >= 1"),
        (dict(input_size=4, hidden_size=2.5), TypeError, "hidden_size must be an int"),
        (dict(input_size=0, hidden_size=5), ValueError, "input_size must be an int >= 1"),
        (dict(input_size=4, hidden_size=5, bias="yes"), ValueError, "bias"),
        (dict(input_size=4, hidden_size=5, dtype=torch.int64), TypeError, "dtype"),
    ],
    ids=["nonlinearity", "hidden_size", "hidden_size-type", "input_size", "bias", "dtype"],
)
def test_constructors_reject_invalid_arguments(module, arguments, error, match):
    with pytest.raises(error, match=match):
        module(**arguments)


@pytest.mark.parametrize(
    "arguments, error, match",
    [
        (dict(num_layers=0), ValueError, "num_layers must be an int >= 1"),
        (dict(dropout=1.5), ValueError, r"dropout must be in \[0, 1\]"),
        (dict(dropout=-0.1), ValueError, r"dropout must be in \[0, 1\]"),
        (dict(batch_first="yes"), ValueError, "batch_first"),
        (dict(bidirectional=2), ValueError, "bidirectional"),
    ],
    ids=["num_layers", "dropout-above-1", "dropout-negative", "batch_first", "bidirectional"],
)
def test_rnn_constructor_rejects_invalid_stacking_arguments(arguments, error, match):
    with pytest.raises(error, match=match):
        RNN(4, 5, **arguments)
