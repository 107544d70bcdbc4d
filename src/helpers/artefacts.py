"""Long runs as committed artefacts: sweeps with provenance, stored as JSON, checked live.

Some claims need more compute than a chapter's 90 seconds: many seeds, models
trained until validation stops improving, grids of learning rates. Those
experiments run from a script in ``benchmarks/experiments/`` (``make
experiments``), and their results ship with this package as JSON in
``helpers/results/``, so the chapter finds them on Colab too. Each file says
where it came from (:func:`provenance`): the command, the git revision, the
package versions, the seeds, the machine, the date and the wall time.

A chapter then

1. loads the artefact (:func:`load_artefact`) and plots or tabulates it;
2. runs a short live version of the same code (the same function, one seed,
   the first few epochs), and
3. checks that the live curve agrees with the stored one where they overlap
   (:func:`check_agreement`), so that the code and the stored numbers cannot
   drift apart: a change to the training code that changes the curve fails the
   build until the sweep is rerun.

:class:`Sweep` is what the scripts use: it runs one function over a list of
settings, saves after every run (an interrupted sweep keeps what it measured),
and writes the provenance at the end.
"""

import datetime as _datetime
import json
import math
import numbers
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from importlib import metadata, resources
from pathlib import Path

import torch

from helpers.validation import _describe
from helpers.version import version as helpers_version

__all__ = [
    "RESULTS_DIR",
    "ArtefactMismatch",
    "Agreement",
    "Sweep",
    "provenance",
    "save_artefact",
    "load_artefact",
    "artefact_names",
    "check_agreement",
]

#: Where the artefacts live inside the source tree (and so inside the installed package).
RESULTS_DIR = Path(__file__).resolve().parent / "results"

#: Packages whose versions a result depends on, recorded in every artefact.
_PACKAGES = ("torch", "numpy", "scipy", "scikit-learn")


def _check_name(name):
    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise ValueError(
            f"name must be a word of letters, digits and underscores (the JSON file's stem), "
            f"got {name!r}"
        )
    return name


def _git(*args):
    try:
        result = subprocess.run(
            ["git", *args],
            capture_output=True,
            text=True,
            timeout=10,
            cwd=Path(__file__).resolve().parent,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return result.stdout.strip() if result.returncode == 0 else None


def _package_versions():
    versions = {"python": platform.python_version()}
    for package in _PACKAGES:
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    versions["torch"] = torch.__version__
    versions["helpers"] = helpers_version()
    return versions


def provenance(*, command, seeds, wall_seconds, device="cpu"):
    """Where a result came from: everything needed to rerun it and judge it.

    Args:
        command: the shell command that produced it (``"make experiments ..."``).
        seeds: the seeds it used.
        wall_seconds: how long it took, end to end.
        device: where it computed.

    Returns:
        dict with ``command``, ``git_revision`` (``None`` outside a checkout),
        ``git_dirty`` (uncommitted changes when it ran), ``packages`` (Python,
        torch, numpy, scipy, scikit-learn and helpers versions), ``seeds``,
        ``machine`` (platform, processor, CPUs, torch threads, device), ``date``
        (UTC, ISO 8601) and ``wall_seconds``.
    """
    if not isinstance(command, str) or not command:
        raise TypeError(f"command must be the command line that ran, got {_describe(command)}")
    if isinstance(wall_seconds, bool) or not isinstance(wall_seconds, numbers.Real):
        raise TypeError(f"wall_seconds must be a number, got {_describe(wall_seconds)}")
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "command": command,
        "git_revision": _git("rev-parse", "HEAD"),
        "git_dirty": None if status is None else bool(status),
        "packages": _package_versions(),
        "seeds": [int(seed) for seed in seeds],
        "machine": {
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "device": str(device),
        },
        "date": _datetime.datetime.now(_datetime.timezone.utc).isoformat(timespec="seconds"),
        "wall_seconds": round(float(wall_seconds), 1),
    }


def artefact_names():
    """The names of the artefacts that ship with the package, sorted."""
    folder = resources.files("helpers").joinpath("results")
    return sorted(entry.name[:-5] for entry in folder.iterdir() if entry.name.endswith(".json"))


def load_artefact(name):
    """The committed artefact ``helpers/results/<name>.json``, as a dict.

    Raises:
        ValueError: there is no artefact of that name (the message lists those there are).
    """
    _check_name(name)
    entry = resources.files("helpers").joinpath("results", f"{name}.json")
    if not entry.is_file():
        raise ValueError(
            f"no artefact named {name!r}; the package ships {', '.join(artefact_names())}; "
            f"`make experiments` writes them"
        )
    return json.loads(entry.read_text())


def save_artefact(name, data, *, folder=None):
    """Write ``data`` (a JSON-able dict with ``provenance``) to ``<folder>/<name>.json``.

    Args:
        name: the file's stem, as :func:`load_artefact` will ask for it.
        data: dict with at least a ``provenance`` key (see :func:`provenance`).
        folder: where to write; default :data:`RESULTS_DIR`.

    Returns:
        the path written.
    """
    _check_name(name)
    if not isinstance(data, Mapping) or "provenance" not in data:
        raise ValueError(
            f"data must be a dict with a 'provenance' entry (helpers.artefacts.provenance), "
            f"got {_describe(data)}"
        )
    folder = RESULTS_DIR if folder is None else Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.json"
    text = json.dumps(data, indent=1, allow_nan=False, default=_jsonable)
    path.write_text(text + "\n")
    return path


def _jsonable(value):
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        return value.item()
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"cannot store {_describe(value)} in an artefact")


class Sweep:
    """Run one function over many settings, saving every result with provenance.

    Used by the scripts in ``benchmarks/experiments/``::

        sweep = Sweep("encoder_bottleneck", command="make experiments ONLY=encoder_bottleneck",
                      settings={"epochs": 40, "patience": 5})
        for seed in range(5):
            sweep.run(train_translator, seed=seed, attention=False)
        sweep.finish(summary=...)

    Each :meth:`run` calls ``function(**kwargs)``, which must return a JSON-able
    dict; the sweep adds the kwargs and the run's seconds, appends it to
    ``runs`` and writes the file at once, so an interrupted sweep keeps what it
    measured. :meth:`finish` adds the summary and the final provenance.

    Args:
        name: the artefact's name (the JSON file's stem).
        command: the command line that reruns the whole sweep.
        settings: what every run shares (stored as ``settings``).
        folder: where to write; default :data:`RESULTS_DIR`.
        log: print one line per run (default True).
    """

    def __init__(self, name, *, command, settings=None, folder=None, log=True):
        self.name = _check_name(name)
        if not isinstance(command, str) or not command:
            raise TypeError(
                f"command must be the command line that reruns the sweep, got {_describe(command)}"
            )
        if settings is not None and not isinstance(settings, Mapping):
            raise TypeError(f"settings must be a dict, got {_describe(settings)}")
        self.command = command
        self.settings = dict(settings or {})
        self.folder = folder
        self.log = log
        self.runs = []
        self._start = time.perf_counter()

    def run(self, function, **kwargs):
        """Call ``function(**kwargs)``, record and save its result; return it."""
        if not isinstance(function, Callable):
            raise TypeError(f"function must be callable, got {_describe(function)}")
        start = time.perf_counter()
        result = function(**kwargs)
        if not isinstance(result, Mapping):
            raise TypeError(
                f"{getattr(function, '__name__', function)} must return a dict, "
                f"got {_describe(result)}"
            )
        record = {**kwargs, **result, "seconds": round(time.perf_counter() - start, 2)}
        self.runs.append(record)
        self._save(summary=None)
        if self.log:
            elapsed = time.perf_counter() - self._start
            print(
                f"[{elapsed:7.0f} s] {self.name} {kwargs} ({record['seconds']:.0f} s)", flush=True
            )
        return record

    def _seeds(self):
        return sorted({int(run["seed"]) for run in self.runs if "seed" in run})

    def _save(self, summary):
        data = {
            "provenance": provenance(
                command=self.command,
                seeds=self._seeds(),
                wall_seconds=time.perf_counter() - self._start,
            ),
            "settings": self.settings,
            "runs": self.runs,
        }
        if summary is not None:
            data["summary"] = summary
        return save_artefact(self.name, data, folder=self.folder)

    def finish(self, summary=None):
        """Write the file a last time, with ``summary`` (``{}`` if None); return its path.

        Only a finished sweep has a ``summary`` key, so a file left by an
        interrupted sweep is recognisable as such.
        """
        path = self._save({} if summary is None else summary)
        if self.log:
            print(
                f"{self.name}: {len(self.runs)} runs in "
                f"{time.perf_counter() - self._start:.0f} s -> {path}",
                flush=True,
            )
        return path


class ArtefactMismatch(AssertionError):
    """A live rerun disagrees with the committed artefact: the code changed, or the artefact is stale."""


@dataclass(frozen=True)
class Agreement:
    """How a live curve compares with the stored one over the steps both have.

    Attributes:
        what: what the curves measure, for messages.
        overlap: how many points were compared (the shorter curve's length).
        max_difference: the largest absolute difference over them.
        worst_index: where it is (0-based).
        tolerance: the allowed difference at that point (``atol + rtol * |stored|``).
        same_environment: whether the live run used the stored run's torch
            version and device type; only then is a mismatch an error.
    """

    what: str
    overlap: int
    max_difference: float
    worst_index: int
    tolerance: float
    same_environment: bool

    @property
    def agrees(self):
        return self.max_difference <= self.tolerance

    def __str__(self):
        verdict = "agrees with" if self.agrees else "DIFFERS from"
        return (
            f"live {self.what} {verdict} the stored artefact over {self.overlap} points "
            f"(largest difference {self.max_difference:.2e} at point {self.worst_index + 1}, "
            f"allowed {self.tolerance:.2e})"
        )


def _curve(name, values):
    if isinstance(values, (str, bytes)) or not isinstance(values, Sequence) or not values:
        raise TypeError(f"{name} must be a non-empty list of numbers, got {_describe(values)}")
    try:
        curve = [float(value) for value in values]
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a list of numbers, got {_describe(values)}") from None
    if not all(math.isfinite(value) for value in curve):
        raise ValueError(f"{name} must hold finite numbers, got {values!r}")
    return curve


def check_agreement(
    stored, live, *, artefact, what="validation loss", rtol=1e-4, atol=1e-6, device="cpu"
):
    """Check that a live curve equals the stored one where they overlap; raise if not.

    On the machine that builds the book (the same torch version and device type
    as the stored run), the live run repeats the first steps of a stored run
    and the two must agree to ``atol + rtol * |stored|`` at every point: a
    difference means the code changed since the artefact was made, and the
    sweep must be rerun (:class:`ArtefactMismatch`). Elsewhere (another torch
    version, a GPU) floating-point results legitimately differ, so a mismatch
    is printed as a note instead of raised.

    Args:
        stored: the stored curve (a list of numbers, e.g. one run's ``val_loss``).
        live: the live curve; the overlap is the first ``min(len)`` points.
        artefact: the loaded artefact (:func:`load_artefact`), for its provenance.
        what: what the curves measure, for the message.
        rtol, atol: the tolerance.
        device: where the live run computed.

    Returns:
        :class:`Agreement` (printed by the caller, or shown as the cell's value).

    Raises:
        ArtefactMismatch: the curves differ beyond the tolerance in the stored run's environment.
    """
    stored = _curve("stored", stored)
    live = _curve("live", live)
    if not isinstance(artefact, Mapping) or "provenance" not in artefact:
        raise TypeError(
            f"artefact must be a dict loaded by load_artefact, got {_describe(artefact)}"
        )
    for name, value in (("rtol", rtol), ("atol", atol)):
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or value < 0:
            raise ValueError(f"{name} must be a number >= 0, got {value!r}")
    made = artefact["provenance"]
    same = (
        made["packages"].get("torch") == torch.__version__
        and torch.device(made["machine"]["device"]).type == torch.device(device).type
    )
    overlap = min(len(stored), len(live))
    gaps = [abs(s - v) for s, v in zip(stored[:overlap], live[:overlap])]
    allowed = [atol + rtol * abs(s) for s in stored[:overlap]]
    worst = max(range(overlap), key=lambda i: gaps[i] - allowed[i])
    agreement = Agreement(what, overlap, gaps[worst], worst, allowed[worst], same)
    if not agreement.agrees:
        message = f"{agreement}: stored {stored[worst]:.6g}, live {live[worst]:.6g}. "
        if same:
            raise ArtefactMismatch(
                message + f"The code behind the artefact changed since it was made "
                f"({made['date']}, git {str(made['git_revision'])[:10]}); rerun "
                f"`{made['command']}` and commit the new JSON."
            )
        print(
            f"note: {message}This environment (torch {torch.__version__}, {device}) differs "
            f"from the stored run's (torch {made['packages'].get('torch')}, "
            f"{made['machine']['device']}), so small differences are expected.",
            file=sys.stdout,
        )
    return agreement
