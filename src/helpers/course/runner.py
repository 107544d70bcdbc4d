"""Inside the sandbox: run a submission's cells, then call its functions for the grader.

Started by :mod:`helpers.course.grading` in a :class:`~helpers.course.sandbox.Sandbox`::

    python -m helpers.course.runner NOTEBOOK REQUEST_FD REPLY_FD CELL_SECONDS CELLS_SECONDS SKIP

It executes the notebook's code cells in one IPython shell (the submission's
"kernel"), each under a CPU-time limit of CELL_SECONDS (ITIMER_PROF: a busy
machine does not shorten it) and all of them under CELLS_SECONDS, after which
the remaining cells are skipped, so a long training cell cannot leave the
exercises unchecked. SKIP lists cells (comma-separated indices) to leave out:
those that ended the process in an earlier attempt. For every cell it reports
``{"cell": i, "state": "start"}`` and ``{"cell": i, "state": "done", "error":
...}`` on REPLY_FD; then ``{"ready": true}``; then it answers the grader's calls
(:class:`~helpers.course.remote.RemoteFunction`) until the grader closes
REQUEST_FD. Nothing here decides a grade: the grader checks what comes back.
"""

import base64
import json
import os
import pickle
import signal
import sys

_MISSING = object()


class CellTimeLimit(KeyboardInterrupt):
    """The cell used up its CPU seconds (a KeyboardInterrupt, as a kernel interrupt is)."""


def _on_limit(signum, frame):
    raise CellTimeLimit("the cell ran past its CPU-time limit")


def _cpu_seconds():
    usage = os.times()
    return usage.user + usage.system


def _describe(error):
    if error is None:
        return None
    message = str(error).strip().split("\n")[0]
    return f"{type(error).__name__}: {message}"[:300]


def _exception(type_name, message):
    """The grader's exception inside the sandbox: a builtin one, or a stand-in of that name."""
    import builtins

    known = getattr(builtins, str(type_name), None)
    if isinstance(known, type) and issubclass(known, Exception):
        return known(message)
    name = str(type_name) if str(type_name).isidentifier() else "GraderError"
    return type(name, (Exception,), {})(message)


def _replace(value, handles, call_grader):
    """The grader's arguments with handles and callbacks turned into the real things."""
    from helpers.course.remote import Callback, Handle

    if isinstance(value, Handle):
        return handles[value.key]
    if isinstance(value, Callback):
        return lambda *args, **kwargs: call_grader(value.key, args, kwargs)
    if isinstance(value, tuple):
        return tuple(_replace(v, handles, call_grader) for v in value)
    if isinstance(value, list):
        return [_replace(v, handles, call_grader) for v in value]
    if isinstance(value, dict):
        return {k: _replace(v, handles, call_grader) for k, v in value.items()}
    return value


def _argument_gradients(result, args):
    """For a scalar loss with a graph: the gradient of each argument tensor that requires one."""
    torch = sys.modules.get("torch")
    if torch is None or not isinstance(result, torch.Tensor) or result.dim() != 0:
        return None
    if result.grad_fn is None:
        return None
    leaves = [(i, a) for i, a in enumerate(args) if isinstance(a, torch.Tensor) and a.requires_grad]
    if not leaves:
        return None
    grads = torch.autograd.grad(
        result, [a for _, a in leaves], allow_unused=True, retain_graph=True
    )
    return {i: g for (i, _), g in zip(leaves, grads) if g is not None}


def main(argv):
    notebook_path, request_fd, reply_fd = argv[0], int(argv[1]), int(argv[2])
    cell_seconds, cells_seconds = float(argv[3]), float(argv[4])
    skip = {int(i) for i in argv[5].split(",") if i}
    reply = os.fdopen(reply_fd, "w", buffering=1)
    requests = os.fdopen(request_fd, "r")

    def send(message):
        reply.write(json.dumps(message) + "\n")
        reply.flush()

    import nbformat
    from IPython.core.interactiveshell import InteractiveShell

    from helpers.course.remote import encode

    os.environ.setdefault("MPLBACKEND", "Agg")
    notebook = nbformat.read(notebook_path, as_version=4)
    shell = InteractiveShell.instance()
    signal.signal(signal.SIGPROF, _on_limit)
    started = _cpu_seconds()
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type != "code" or index in skip:
            continue
        if _cpu_seconds() - started > cells_seconds:
            send({"cell": index, "state": "skipped"})
            continue
        send({"cell": index, "state": "start"})
        signal.setitimer(signal.ITIMER_PROF, cell_seconds)
        try:
            result = shell.run_cell(cell.source, store_history=False)
            error = result.error_before_exec or result.error_in_exec
        except BaseException as failure:  # noqa: BLE001 (a limit hit outside the cell's own code)
            error = failure
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        send({"cell": index, "state": "done", "error": _describe(error)})
    send({"ready": True})

    from helpers.course.feedback import _where, describe

    namespace, handles = shell.user_ns, {}
    nonce = None

    def call_grader(key, args, kwargs):
        send({"nonce": nonce, "callback": key, "args": encode((list(args), kwargs))})
        answer = pickle.loads(base64.b64decode(json.loads(requests.readline())["callback_answer"]))
        if "callback_error" in answer:
            raise _exception(*answer["callback_error"])
        return answer["callback_result"]

    while True:
        line = requests.readline()
        if not line:
            break
        request = json.loads(line)
        nonce = request["nonce"]
        if "describe" in request:
            described = {}
            for name in request["describe"]:
                value = namespace.get(name, _MISSING)
                described[name] = {
                    "defined": value is not _MISSING,
                    "callable": callable(value),
                    "description": "" if value is _MISSING else describe(value),
                }
            send({"nonce": nonce, "described": described})
            continue
        name = request["call"]
        args, kwargs = pickle.loads(base64.b64decode(request["args"]))
        args = _replace(args, handles, call_grader)
        kwargs = _replace(kwargs, handles, call_grader)
        answer = {"nonce": nonce}
        function = namespace.get(name)
        signal.setitimer(signal.ITIMER_PROF, cell_seconds)
        try:
            if not callable(function):
                raise NameError(f"{name} is not defined (or not a function) in the notebook")
            result = function(*args, **kwargs)
            gradients = _argument_gradients(result, args)
            answer["result"] = encode(result, handles)
            if gradients:
                answer["arg_grads"] = {str(i): encode(g) for i, g in gradients.items()}
        except BaseException as error:  # noqa: BLE001 (everything is the grader's feedback)
            answer["error"] = {
                "type": type(error).__name__,
                "message": str(error)[:2000],
                "where": _where(error),
            }
        finally:
            signal.setitimer(signal.ITIMER_PROF, 0)
        try:
            answer["args_after"] = encode(list(args), handles)
        except Exception:  # noqa: BLE001
            pass
        send(answer)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
