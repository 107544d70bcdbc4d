"""Calling a submission's functions from the grader, across the sandbox's wall.

The grader runs the checks itself and the submission's functions run in the
sandbox (:mod:`helpers.course.runner`); :class:`RemoteFunction` stands for one
such function in the grader. A call sends the arguments to the sandbox (pickled:
the sandbox trusts the grader) and gets back plain data (see :func:`encode`):
numbers, strings, numpy arrays, torch tensors (values only), and tuples, lists
and dicts of these. Nothing the sandbox sends is unpickled or executed by the
grader, and any other object a function returns stays in the sandbox as a
:class:`Handle` that can be passed back to the submission's functions (a
forward pass's cache, say). After each call the arguments' new values come back
too, so a check still sees a function that modifies its inputs in place.

Every message the sandbox sends is one JSON line on the grader's own pipe; each
reply must carry the request's one-time nonce, made when the request is sent,
so lines written before it (a results file faked by a cell) are refused.
"""

import base64
import builtins
import functools
import json
import os
import pickle
import secrets
import select
import time
import types

import numpy as np

MAX_LINE = 64 * 2**20  # bytes of one message from the sandbox
_DTYPES = {
    np.dtype(t).str
    for t in (
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float16",
        "float32",
        "float64",
        "complex64",
        "complex128",
    )
}
_SAFE_EXCEPTIONS = {
    name
    for name in dir(builtins)
    if isinstance(getattr(builtins, name), type) and issubclass(getattr(builtins, name), Exception)
}


class ProtocolError(Exception):
    """A message from the sandbox broke the protocol: forged, malformed or out of turn."""


class SandboxGone(Exception):
    """The sandbox ended (or stopped answering) before it replied."""


class Handle:
    """An object that stayed in the sandbox; passing it to a submission's function passes the object."""

    def __init__(self, key, type_name):
        self.key, self.type_name = key, type_name

    def __repr__(self):
        return f"<{self.type_name} object in the sandbox>"


# --------------------------------------------------------------------------- plain data


def encode(value, handles=None):
    """`value` as JSON-able plain data; other objects become handles kept in `handles`.

    Args:
        value: what a submission's function returned (or an argument after the call).
        handles: dict key -> object where objects that are not plain data are
            kept (in the sandbox); None to refuse them.
    """
    import sys

    torch = sys.modules.get("torch")
    # numpy scalars first: np.float64 is also a Python float, and the checks tell them apart
    if isinstance(value, np.generic) and np.dtype(value.dtype).str in _DTYPES:
        return {"__scalar__": _array(np.asarray(value))}
    if value is None or isinstance(value, (bool, int, float, str)):
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= 2**63:
            return {"__bigint__": str(value)}
        return value
    if isinstance(value, np.ndarray) and value.dtype.str in _DTYPES:
        return {"__ndarray__": _array(value)}
    if torch is not None and isinstance(value, torch.Tensor):
        array = value.detach().cpu()
        if array.dtype == torch.bfloat16:
            array = array.float()
        encoded = _array(array.numpy())
        encoded["requires_grad"] = bool(value.requires_grad)
        encoded["torch_dtype"] = str(value.dtype).removeprefix("torch.")
        return {"__tensor__": encoded}
    module = _encode_recurrent_module(value, torch)
    if module is not None:
        return module
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v, handles) for v in value]}
    if isinstance(value, list):
        return [encode(v, handles) for v in value]
    if isinstance(value, dict) and all(isinstance(k, (str, int)) for k in value):
        return {"__dict__": [[k, encode(v, handles)] for k, v in value.items()]}
    if handles is None:
        raise TypeError(f"cannot send a {type(value).__name__} as plain data")
    key = len(handles)
    handles[key] = value
    return {"__handle__": key, "type": type(value).__name__[:100]}


# torch.nn's recurrent modules travel as their settings and weights (exact classes only:
# a subclass or a hook would run the submission's code in the grader)
_LAYER = (
    "input_size",
    "hidden_size",
    "num_layers",
    "bias",
    "batch_first",
    "dropout",
    "bidirectional",
)
_CELL = ("input_size", "hidden_size", "bias")
# the settings each class's constructor takes
_ACCEPTED = {
    "RNN": (*_LAYER, "nonlinearity"),
    "LSTM": (*_LAYER, "proj_size"),
    "GRU": _LAYER,
    "RNNCell": (*_CELL, "nonlinearity"),
    "LSTMCell": _CELL,
    "GRUCell": _CELL,
}
_RECURRENT = tuple(_ACCEPTED)
_SETTINGS = tuple(dict.fromkeys(k for keys in _ACCEPTED.values() for k in keys))


def _encode_recurrent_module(value, torch):
    if torch is None or type(value).__name__ not in _RECURRENT:
        return None
    if type(value) is not getattr(torch.nn, type(value).__name__):
        return None
    if value._forward_hooks or value._forward_pre_hooks or value._backward_hooks:
        return None
    settings = {k: getattr(value, k) for k in _SETTINGS if hasattr(value, k)}
    state = [[k, encode(v)] for k, v in value.state_dict().items()]
    return {"__module__": {"class": type(value).__name__, "settings": settings, "state": state}}


def _decode_recurrent_module(record):
    import torch

    if not isinstance(record, dict) or record.get("class") not in _RECURRENT:
        raise ProtocolError("a module that is not one of torch.nn's recurrent modules")
    settings = record.get("settings")
    if not isinstance(settings, dict) or not set(settings) <= set(_SETTINGS):
        raise ProtocolError("a recurrent module with malformed settings")
    if not all(isinstance(v, (bool, int, float, str)) for v in settings.values()):
        raise ProtocolError("a recurrent module with malformed settings")
    cls = getattr(torch.nn, record["class"])
    allowed = _ACCEPTED[record["class"]]
    try:
        module = cls(**{k: v for k, v in settings.items() if k in allowed})
        state = {str(k): decode(v) for k, v in record.get("state", [])}
        tensors = [v for v in state.values() if isinstance(v, torch.Tensor)]
        if tensors:
            module = module.to(tensors[0].dtype)
        module.load_state_dict({k: v.detach() for k, v in state.items()})
    except (TypeError, ValueError, RuntimeError) as error:
        raise ProtocolError(f"a recurrent module that cannot be rebuilt: {error}") from None
    return module


def _array(array):
    array = np.asarray(array)
    if not array.flags.c_contiguous:
        array = array.copy(order="C")
    return {
        "dtype": array.dtype.str,
        "shape": list(array.shape),
        "data": base64.b64encode(array.tobytes()).decode("ascii"),
    }


def _unarray(record):
    if not isinstance(record, dict) or record.get("dtype") not in _DTYPES:
        raise ProtocolError(f"an array of a dtype that is not plain numbers: {record!r}"[:200])
    shape = record.get("shape")
    if not isinstance(shape, list) or not all(isinstance(n, int) and n >= 0 for n in shape):
        raise ProtocolError("an array with a malformed shape")
    data = base64.b64decode(record.get("data", ""), validate=True)
    dtype = np.dtype(record["dtype"])
    if len(data) != dtype.itemsize * int(np.prod(shape, dtype=np.int64)):
        raise ProtocolError("an array whose data does not match its shape")
    return np.frombuffer(data, dtype=dtype).reshape(shape).copy()


def decode(value):
    """The grader's copy of plain data from :func:`encode`; handles become :class:`Handle`.

    Raises:
        ProtocolError: anything that :func:`encode` does not write.
    """
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict) or len(value) not in (1, 2):
        raise ProtocolError(f"not plain data: {str(value)[:200]}")
    if "__ndarray__" in value:
        return _unarray(value["__ndarray__"])
    if "__scalar__" in value:
        return _unarray(value["__scalar__"])[()]
    if "__tensor__" in value:
        import torch

        record = value["__tensor__"]
        tensor = torch.from_numpy(_unarray(record))
        dtype = getattr(torch, str(record.get("torch_dtype", "")), None)
        if isinstance(dtype, torch.dtype):
            tensor = tensor.to(dtype)
        return tensor.requires_grad_(
            bool(record.get("requires_grad")) and tensor.is_floating_point()
        )
    if "__tuple__" in value:
        return tuple(decode(v) for v in value["__tuple__"])
    if "__dict__" in value:
        pairs = value["__dict__"]
        if not all(
            isinstance(p, list) and len(p) == 2 and isinstance(p[0], (str, int)) for p in pairs
        ):
            raise ProtocolError("a malformed dict")
        return {k: decode(v) for k, v in pairs}
    if "__module__" in value:
        return _decode_recurrent_module(value["__module__"])
    if "__handle__" in value and isinstance(value["__handle__"], int):
        return Handle(value["__handle__"], str(value.get("type", "object"))[:100])
    if "__bigint__" in value:
        return int(value["__bigint__"])
    raise ProtocolError(f"not plain data: {str(value)[:200]}")


def _known_exceptions():
    """Exceptions of the book's own that cross the wall by name (a check's step, a tripwire)."""
    from helpers.course.feedback import StepMisuse
    from helpers.course.tripwires import ReferenceWithheld

    return {"StepMisuse": StepMisuse, "ReferenceWithheld": ReferenceWithheld}


def remote_exception(type_name, message, where=""):
    """An exception of the name the sandbox reported (a builtin one, one of the book's, or a
    stand-in of that name), carrying where in the submission's code it was raised."""
    type_name = str(type_name)[:100]
    message = str(message)[:2000]
    known = _known_exceptions()
    if type_name in known:
        error = known[type_name](message)
    elif type_name in _SAFE_EXCEPTIONS:
        error = getattr(builtins, type_name)(message)
    else:
        name = type_name if type_name.isidentifier() else "SubmittedError"
        error = type(name, (Exception,), {})(message)
    error.sandbox_where = str(where or "")[:300]
    return error


class Callback:
    """A function of the grader's passed to a submission's function (a check's `step`)."""

    def __init__(self, key):
        self.key = key


# --------------------------------------------------------------------------- the grader's end


class Channel:
    """The grader's two pipes to one sandbox: requests out, JSON lines back.

    Args:
        read_fd: the end the sandbox writes to.
        write_fd: the end the sandbox reads requests from.
    """

    def __init__(self, read_fd, write_fd):
        self.read_fd, self.write_fd = read_fd, write_fd
        self._buffer = b""
        self.closed = False

    def send(self, message: dict):
        data = (json.dumps(message) + "\n").encode()
        try:
            view = memoryview(data)
            while view:
                written = os.write(self.write_fd, view)
                view = view[written:]
        except (BrokenPipeError, OSError) as error:
            self.closed = True
            raise SandboxGone("the sandbox closed its end") from error

    def receive(self, deadline: float) -> dict:
        """The next message; raises SandboxGone at end of file or past `deadline` (monotonic)."""
        while b"\n" not in self._buffer:
            if len(self._buffer) > MAX_LINE:
                raise ProtocolError(f"a message over {MAX_LINE} bytes")
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SandboxGone("no reply in time")
            ready, _, _ = select.select([self.read_fd], [], [], min(remaining, 1.0))
            if not ready:
                continue
            chunk = os.read(self.read_fd, 1 << 20)
            if not chunk:
                self.closed = True
                raise SandboxGone("the sandbox ended")
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        try:
            message = json.loads(line)
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise ProtocolError(f"a line that is not JSON: {line[:120]!r}") from error
        if not isinstance(message, dict):
            raise ProtocolError(f"a message that is not an object: {line[:120]!r}")
        return message

    def close(self):
        for fd in (self.read_fd, self.write_fd):
            try:
                os.close(fd)
            except OSError:
                pass
        self.closed = True


class RemoteFunction:
    """The grader's stand-in for a function defined by the submission.

    Calling it runs the function in the sandbox on a copy of the arguments and
    returns the decoded result; arrays, tensors and lists among the arguments
    take the values the function left in them.

    Args:
        name: the function's name in the notebook.
        channel: the sandbox's :class:`Channel`.
        call_timeout: seconds (wall) to wait for one call.
        deadline: a `time.monotonic()` after which no call waits (all the checks' time).
    """

    def __init__(self, name, channel, call_timeout, deadline=None):
        self.__name__ = self.__qualname__ = name
        self._channel, self._timeout = channel, call_timeout
        self._deadline = float("inf") if deadline is None else deadline

    def __repr__(self):
        return f"<function {self.__name__} (in the sandbox)>"

    def __call__(self, *args, **kwargs):
        if self._channel.closed:
            raise SandboxGone(f"{self.__name__} cannot run: the sandbox has ended")
        callbacks = {}
        sent_args = _with_callbacks(args, callbacks)
        sent_kwargs = _with_callbacks(kwargs, callbacks)
        nonce = secrets.token_hex(16)
        payload = base64.b64encode(pickle.dumps((sent_args, sent_kwargs), protocol=4)).decode()
        self._channel.send({"nonce": nonce, "call": self.__name__, "args": payload})
        deadline = min(time.monotonic() + self._timeout, self._deadline)
        while True:
            try:
                reply = self._channel.receive(deadline)
            except SandboxGone:
                self._channel.closed = True
                raise TimeoutError(
                    f"{self.__name__} did not return within {self._timeout:.0f} s, or ended the "
                    "process it ran in (an infinite loop? os._exit?)"
                ) from None
            if reply.get("nonce") != nonce:
                raise ProtocolError("a reply without this call's nonce (forged output)")
            if "callback" not in reply:
                break
            self._answer_callback(reply, callbacks)
        if "args_after" in reply:
            _copy_back(args, decode(reply["args_after"]))
        if "error" in reply:
            error = reply["error"] if isinstance(reply["error"], dict) else {}
            raise remote_exception(
                error.get("type", "Exception"), error.get("message", ""), error.get("where", "")
            )
        if "result" not in reply:
            raise ProtocolError("a reply with neither result nor error")
        result = decode(reply["result"])
        if isinstance(reply.get("arg_grads"), dict):
            result = _with_gradients(result, args, reply["arg_grads"])
        return result

    def _answer_callback(self, reply, callbacks):
        """Run the grader's function the submission called, and send its answer back."""
        function = callbacks.get(reply.get("callback"))
        if function is None:
            raise ProtocolError("a call of a grader function that was never sent")
        try:
            call_args, call_kwargs = decode(reply.get("args"))
            answer = {"callback_result": function(*call_args, **call_kwargs)}
        except ProtocolError:
            raise
        except Exception as error:  # noqa: BLE001 (goes back to the submission's code)
            answer = {"callback_error": (type(error).__name__, str(error))}
        payload = base64.b64encode(pickle.dumps(answer, protocol=4)).decode()
        self._channel.send({"callback_answer": payload})


def _with_callbacks(value, callbacks):
    """`value` with the grader's functions in it replaced by :class:`Callback` keys."""
    if isinstance(value, tuple):
        return tuple(_with_callbacks(v, callbacks) for v in value)
    if isinstance(value, list):
        return [_with_callbacks(v, callbacks) for v in value]
    if isinstance(value, dict):
        return {k: _with_callbacks(v, callbacks) for k, v in value.items()}
    if isinstance(value, (types.FunctionType, types.MethodType, functools.partial)):
        key = len(callbacks)
        callbacks[key] = value
        return Callback(key)
    return value


def _with_gradients(result, args, arg_grads):
    """`result` joined to the tensors among `args` with the gradients the sandbox computed.

    A scalar loss computed in the sandbox comes back as a number; the checks call
    ``loss.backward()`` and read the inputs' ``.grad``: the gradients come across
    as data and this autograd function hands them to those inputs.
    """
    import torch

    if not isinstance(result, torch.Tensor) or result.dim() != 0:
        return result
    indices = sorted(int(i) for i in arg_grads if str(i).isdigit() and int(i) < len(args))
    inputs = [args[i] for i in indices]
    if not inputs or not all(isinstance(t, torch.Tensor) and t.requires_grad for t in inputs):
        return result
    grads = [decode(arg_grads[str(i)]) for i in indices]
    if not all(isinstance(g, torch.Tensor) and g.shape == t.shape for g, t in zip(grads, inputs)):
        raise ProtocolError("gradients that do not match their inputs")

    class Transported(torch.autograd.Function):
        @staticmethod
        def forward(ctx, value, *tensors):
            return value.clone()

        @staticmethod
        def backward(ctx, grad_output):
            return (None, *[grad_output * g.to(grad_output.dtype) for g in grads])

    return Transported.apply(result.detach(), *inputs)


def _copy_back(originals, afters):
    """Give the grader's arguments the values the function left in its copies."""
    import sys

    torch = sys.modules.get("torch")
    if not isinstance(afters, (list, tuple)) or len(afters) != len(originals):
        raise ProtocolError("arguments sent back do not match the call")
    for original, after in zip(originals, afters):
        if isinstance(original, np.ndarray) and isinstance(after, np.ndarray):
            if original.shape == after.shape and original.flags.writeable:
                np.copyto(original, after, casting="unsafe")
        elif torch is not None and isinstance(original, torch.Tensor):
            if isinstance(after, torch.Tensor) and after.shape == original.shape:
                with torch.no_grad():
                    original.copy_(after)
        elif isinstance(original, list) and isinstance(after, list):
            if len(original) == len(after) and all(isinstance(o, (np.ndarray,)) for o in original):
                _copy_back(original, after)
            elif not any(isinstance(o, Handle) for o in after):
                original[:] = after
