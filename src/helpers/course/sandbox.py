"""A sandbox for a submission's code: bubblewrap where it works, the OS's limits always.

Grading runs students' code, and a student's code may try anything: read a
classmate's notebook or the chapter's solutions, rewrite the grades, leave a
daemon behind, fill the memory or the process table. :class:`Sandbox` starts
one command (the runner of :mod:`helpers.course.runner`) so that it cannot,
at the strongest level the machine offers, and says which level that was:

- ``"bubblewrap"`` (the `bwrap` program, Debian's package ``bubblewrap``): new
  user (uid 65534), PID, network, IPC and UTS namespaces; a file system that
  holds only the read-only system and Python folders, the ``helpers`` package
  and one private writable folder with the submission's copy; a fresh ``/tmp``
  and ``/proc``; everything killed when the sandbox's first process ends.
- ``"process group"``: where bubblewrap is missing or refused, a new session in
  a private temporary folder with a scrubbed environment; the file system and
  network stay visible, which the grades report.

At both levels: resource limits (CPU seconds, address space, file size, open
files), a pids cgroup (process count, and every process found and killed
however it detached) where the machine allows one, else RLIMIT_NPROC.
"""

import contextlib
import os
import resource
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

LEVELS = ("bubblewrap", "process group")
_PIDS_CGROUP = Path("/sys/fs/cgroup/pids")
SANDBOX_HOME = "/sandbox"  # where the private folder appears inside bubblewrap


@dataclass(frozen=True)
class Limits:
    """Resource limits of one sandbox.

    Attributes:
        cpu_seconds: CPU time of each process (RLIMIT_CPU): CPU time, not wall
            time, so that a busy machine cannot cut a correct submission short.
        memory_bytes: address space of each process (RLIMIT_AS).
        file_bytes: largest file a process may write (RLIMIT_FSIZE).
        processes: processes and threads at once (pids cgroup or RLIMIT_NPROC).
        open_files: open file descriptors per process (RLIMIT_NOFILE).
    """

    cpu_seconds: int = 600
    memory_bytes: int = 4 * 2**30
    file_bytes: int = 64 * 2**20
    processes: int = 64
    open_files: int = 256


def _bwrap_works() -> bool:
    bwrap = shutil.which("bwrap")
    if bwrap is None:
        return False
    try:
        result = subprocess.run(
            [bwrap, "--unshare-all", "--unshare-user", "--ro-bind", "/", "/", "true"],
            capture_output=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def best_level() -> str:
    """The strongest isolation this machine allows: ``"bubblewrap"`` or ``"process group"``."""
    return "bubblewrap" if _bwrap_works() else "process group"


def _python_folders(package_dir: Path) -> list[Path]:
    """Folders the sandboxed Python needs, read-only: the interpreter, its libraries, helpers."""
    folders = {
        Path(sys.base_prefix),
        Path(sys.prefix),
        Path(sys.executable).resolve().parent,
        Path(package_dir).resolve(),
    }
    for key in ("stdlib", "platstdlib", "purelib", "platlib"):
        with contextlib.suppress(KeyError):
            folders.add(Path(sysconfig.get_paths()[key]).resolve())
    # a venv's site-packages may hold links into other folders (editable installs: .pth files)
    return sorted(f for f in folders if f.exists())


class _PidsCgroup:
    """A pids cgroup (v1 or v2 controller folder) holding every process of one sandbox."""

    def __init__(self, limit: int):
        self.path = None
        root = _PIDS_CGROUP if (_PIDS_CGROUP / "cgroup.procs").exists() else None
        if root is None or not os.access(root, os.W_OK):
            return
        path = root / f"rnn-book-grading-{uuid.uuid4().hex[:12]}"
        try:
            path.mkdir()
            (path / "pids.max").write_text(str(limit))
        except OSError:
            with contextlib.suppress(OSError):
                path.rmdir()
            return
        self.path = path

    def join(self):
        """In the child, before exec: put this process (and so its descendants) in the cgroup."""
        if self.path is not None:
            (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def kill_all(self, timeout: float = 10.0) -> bool:
        """SIGKILL every process in the cgroup until none is left; remove it. True if emptied."""
        if self.path is None:
            return True
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                pids = [int(p) for p in (self.path / "cgroup.procs").read_text().split()]
            except OSError:
                return True
            if not pids:
                with contextlib.suppress(OSError):
                    self.path.rmdir()
                return True
            for pid in pids:
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.05)
        return False


class Sandbox:
    """One sandboxed process tree, started by :meth:`start` and ended by :meth:`close`.

    Args:
        folder: the private writable folder (holding the submission's copy); the
            sandbox's working directory and home.
        package_dir: the ``helpers`` package folder the sandbox imports (a copy
            with the exercises' references replaced by tripwires); inside
            bubblewrap it is mounted where Python finds ``helpers``.
        limits: resource limits.
        level: ``"bubblewrap"``, ``"process group"`` or None for :func:`best_level`.
    """

    def __init__(self, folder, package_dir, limits=Limits(), level=None):
        self.folder = Path(folder).resolve()
        self.package_dir = Path(package_dir).resolve()
        # the helpers package this grader runs from (helpers/course/sandbox.py -> helpers/)
        self.installed_dir = Path(__file__).resolve().parent.parent
        self.limits = limits
        self.level = best_level() if level is None else level
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {LEVELS}, got {self.level!r}")
        self.process = None
        self._cgroup = None

    @property
    def home(self) -> str:
        """The private folder as the sandboxed process sees it."""
        return SANDBOX_HOME if self.level == "bubblewrap" else str(self.folder)

    def _command(self, argv):
        if self.level != "bubblewrap":
            return list(argv)
        command = [
            shutil.which("bwrap"),
            "--unshare-all",  # network, PID, IPC, UTS (and user, cgroup where possible)
            "--unshare-user",
            "--uid",
            "65534",
            "--gid",
            "65534",
            "--die-with-parent",
            "--new-session",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            "--tmpfs",
            "/tmp",
        ]
        for system in ("/usr", "/lib", "/lib64", "/bin", "/etc"):
            if Path(system).exists():
                command += ["--ro-bind", system, system]
        for folder in _python_folders(self.installed_dir):
            command += ["--ro-bind", str(folder), str(folder)]
        # the tripwired copy over the installed package (later binds win)
        command += ["--ro-bind", str(self.package_dir), str(self.installed_dir)]
        command += ["--bind", str(self.folder), SANDBOX_HOME, "--chdir", SANDBOX_HOME]
        return command + ["--", *argv]

    def _preexec(self):
        """In the child before exec: limits, then the cgroup."""
        limits = self.limits
        for which, value in (
            (resource.RLIMIT_CPU, limits.cpu_seconds),
            (resource.RLIMIT_AS, limits.memory_bytes),
            (resource.RLIMIT_FSIZE, limits.file_bytes),
            (resource.RLIMIT_NOFILE, limits.open_files),
            (resource.RLIMIT_CORE, 0),
        ):
            resource.setrlimit(which, (value, value))
        if self._cgroup is not None and self._cgroup.path is not None:
            self._cgroup.join()
        elif os.geteuid() != 0:
            resource.setrlimit(resource.RLIMIT_NPROC, (limits.processes, limits.processes))

    def start(self, argv, *, env, pass_fds=()):
        """Start `argv` in the sandbox, stdout and stderr discarded; return the Popen."""
        if self.process is not None:
            raise RuntimeError("this sandbox already ran a command")
        self._cgroup = _PidsCgroup(self.limits.processes)
        self.process = subprocess.Popen(
            self._command(argv),
            cwd=self.folder,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            pass_fds=tuple(pass_fds),
            start_new_session=True,
            preexec_fn=self._preexec,
        )
        return self.process

    def close(self) -> bool:
        """Kill every process of the sandbox and wait for them; True when none is left."""
        if self.process is None:
            return True
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            self.process.kill()
        self.process.wait()
        emptied = self._cgroup.kill_all() if self._cgroup is not None else True
        return emptied
