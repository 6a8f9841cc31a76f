"""Files we write never damage what the user had.

Every writer (``to_nwb``/``export_latents``, ``write_recording``, ``save``) goes through one
code path, :mod:`neuromix._atomic`. Here an exception is injected at each step of each
writer in turn; a child process is SIGKILLed in the middle of an export; files and
folders are made read-only; the disk is made full; and latents are written twice.
After each: the error propagates, every file the user had (sources, previous
destinations) is byte-identical, no temporary file is left, and the write succeeds when
run again.
"""

import errno
import hashlib
import json
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import h5py
import numpy as np
import pytest
from pynwb import NWBHDF5IO

import neuromix as nm
from neuromix import _atomic
from neuromix.evaluation.images import ImageClassifier

ROOT = Path(__file__).resolve().parents[2]
SUBJECTS = ("Barat", "Mitt")
LATENTS = "processing/neuromix/latents_mmvm"


# ------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def simulated():
    return nm.datasets.simulate_odor_sequence(
        subjects=list(SUBJECTS), seed=0, n_trials=20, n_units=3
    )


@pytest.fixture(scope="module")
def sources(simulated, tmp_path_factory):
    """The pristine NWB files; every test works on copies."""
    return nm.datasets.write_odor_sequence_nwb(simulated, tmp_path_factory.mktemp("sources"))


@pytest.fixture(scope="module")
def model(sources):
    recordings = nm.read_nwb([sources[s] for s in SUBJECTS])
    return nm.fit(recordings, subject_dim="rat", test_size=0.25, epochs=1, progress=False)


@dataclass
class Env:
    model: object
    sources: dict
    recording: object
    tmp: Path


@pytest.fixture
def env(model, sources, simulated, tmp_path):
    return Env(model, sources, simulated["Barat"], tmp_path)


def _sha(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _listing(folders):
    return {str(f): sorted(p.name for p in f.iterdir()) for f in folders if f.is_dir()}


def _has_latents(path):
    with h5py.File(path, "r") as file:
        return LATENTS in file


# ------------------------------------------------------------------ the writers


@dataclass
class Case:
    """One write, the files it must not damage and the folders it must leave clean."""

    run: Callable[..., object]
    destination: Path  # the file named in error messages
    protected: list[Path]  # byte-identical after a failure
    folders: list[Path]  # no temporary file left
    done: Callable[[], bool]  # the write did happen (after the re-run)
    label: str = ""  # "subject 'Barat': " where a subject is involved
    absent: list[Path] = field(default_factory=list)  # still absent after a failure


def _copies(env):
    work = env.tmp / "work"
    work.mkdir()
    return work, {s: shutil.copyfile(env.sources[s], work / f"{s}.nwb") for s in SUBJECTS}


def to_nwb_in_place(env):
    work, files = _copies(env)
    return Case(
        run=lambda **kw: env.model.to_nwb(files, **kw),
        destination=files["Mitt"],
        protected=list(files.values()),
        folders=[work],
        done=lambda: all(_has_latents(p) for p in files.values()),
        label="subject 'Mitt': ",
    )


def to_nwb_out_dir(env):
    work, files = _copies(env)
    out = env.tmp / "out"
    out.mkdir()
    written = [out / p.name for p in files.values()]
    return Case(
        run=lambda **kw: env.model.to_nwb(files, out_dir=out, **kw),
        destination=out / "Mitt.nwb",
        protected=list(files.values()),
        folders=[work, out],
        done=lambda: all(_has_latents(p) for p in written),
        label="subject 'Mitt': ",
        absent=written,
    )


def to_nwb_out_dir_overwrite(env):
    """out_dir already holds a previous file of each subject (here: a copy of the source)."""
    work, files = _copies(env)
    out = env.tmp / "out"
    out.mkdir()
    old = [shutil.copyfile(p, out / p.name) for p in files.values()]
    return Case(
        run=lambda **kw: env.model.to_nwb(files, out_dir=out, overwrite=True, **kw),
        destination=out / "Mitt.nwb",
        protected=[*files.values(), *old],
        folders=[work, out],
        done=lambda: all(_has_latents(p) for p in old),
        label="subject 'Mitt': ",
    )


def write_recording_new(env):
    folder = env.tmp / "files"
    folder.mkdir()
    path = folder / "Barat.nwb"
    return Case(
        run=lambda **kw: nm.write_recording(env.recording, path, **kw),
        destination=path,
        protected=[],
        folders=[folder],
        done=lambda: list(nm.read_nwb(path)) == ["Barat"],
        label="subject 'Barat': ",
        absent=[path],
    )


def write_recording_overwrite(env):
    folder = env.tmp / "files"
    folder.mkdir()
    path = shutil.copyfile(env.sources["Mitt"], folder / "Barat.nwb")  # another subject's
    return Case(
        run=lambda **kw: nm.write_recording(env.recording, path, overwrite=True, **kw),
        destination=path,
        protected=[path],
        folders=[folder],
        done=lambda: list(nm.read_nwb(path)) == ["Barat"],
        label="subject 'Barat': ",
    )


def _loads(path):
    try:
        return list(nm.load(path).subjects_) == list(SUBJECTS)
    except ValueError:
        return False


def save_new(env):
    folder = env.tmp / "models"
    folder.mkdir()
    path = folder / "model.nmx"
    return Case(
        run=lambda **kw: env.model.save(path, **kw),
        destination=path,
        protected=[],
        folders=[folder],
        done=lambda: _loads(path),
        absent=[path],
    )


def save_overwrite(env):
    folder = env.tmp / "models"
    folder.mkdir()
    path = folder / "model.nmx"
    path.write_bytes(b"the previous model")
    return Case(
        run=lambda **kw: env.model.save(path, overwrite=True, **kw),
        destination=path,
        protected=[path],
        folders=[folder],
        done=lambda: _loads(path),
    )


# ------------------------------------------------------------------ fault injection


class Boom(RuntimeError):
    """The injected fault."""


class Fault:
    """Make ``owner.name`` raise on its ``n``-th call (among calls where ``when`` holds)."""

    def __init__(self, monkeypatch, owner, name, *, n=1, when=None, error=None):
        self.calls, self.fired = 0, False
        self.error = error if error is not None else Boom(f"injected fault in {name}")
        original = getattr(owner, name)

        def faulty(*args, **kwargs):
            if not self.fired and (when is None or when(*args, **kwargs)):
                self.calls += 1
                if self.calls == n:
                    self.fired = True
                    raise self.error
            return original(*args, **kwargs)

        monkeypatch.setattr(owner, name, faulty)


def _is_temporary(path) -> bool:
    return re.fullmatch(r"\..+\.tmp(\.nwb)?", Path(path).name) is not None


def _creates_temporary(path, flags, *args, **kwargs):
    return bool(flags & os.O_CREAT) and _is_temporary(path)


# The write steps: where the fault is raised, and which of its calls count.
STEPS = {
    # the temporary file beside the destination (os.open with O_CREAT)
    "create-temp": (os, "open", _creates_temporary),
    # the copy of the source NWB file into the temporary file
    "copy-source": (shutil, "copyfile", None),
    # opening the temporary file with pynwb, writing the NWB file, closing it
    "open-nwb": (NWBHDF5IO, "__init__", None),
    "write-nwb": (NWBHDF5IO, "write", None),
    "close-nwb": (NWBHDF5IO, "close", None),
    # the model's zip archive: opening it, each member, closing it
    "open-zip": (zipfile.ZipFile, "__init__", None),
    "write-zip-member": (zipfile.ZipFile, "writestr", None),
    "close-zip": (zipfile.ZipFile, "close", None),
    # flushing the temporary file to disk before the move
    "fsync": (os, "fsync", None),
    # giving the temporary file the mode of the file it replaces
    "chmod": (os, "chmod", lambda path, *a, **k: _is_temporary(path)),
    # the hard link keeping the old version of a file during a commit of several files
    "keep-old": (os, "link", lambda src, dst, *a, **k: _is_temporary(dst)),
    # the move into place: os.replace, or os.link for a file that must not be replaced
    "replace": (os, "replace", lambda src, dst, *a, **k: _is_temporary(src)),
    "link": (os, "link", lambda src, dst, *a, **k: _is_temporary(src)),
}

# (writer, step, which call fails). For exports mostly the 2nd subject's call, so that
# the 1st subject's temporary file exists (and, for the moves, is already in place and
# must be put back).
CASES = {
    to_nwb_in_place: [
        ("create-temp", 2),
        ("copy-source", 2),
        ("open-nwb", 2),
        ("write-nwb", 2),
        ("close-nwb", 2),
        ("fsync", 2),
        ("chmod", 2),
        ("keep-old", 2),
        ("replace", 1),
        ("replace", 2),  # Barat is replaced already: put back
    ],
    to_nwb_out_dir: [
        ("create-temp", 2),
        ("copy-source", 1),
        ("write-nwb", 2),
        ("close-nwb", 1),
        ("fsync", 2),
        ("link", 1),
        ("link", 2),  # Barat is in out_dir already: removed
    ],
    to_nwb_out_dir_overwrite: [
        ("write-nwb", 2),
        ("chmod", 1),
        ("keep-old", 2),
        ("replace", 2),
    ],
    write_recording_new: [
        ("create-temp", 1),
        ("open-nwb", 1),
        ("write-nwb", 1),
        ("close-nwb", 1),
        ("fsync", 1),
        ("link", 1),
    ],
    write_recording_overwrite: [
        ("create-temp", 1),
        ("write-nwb", 1),
        ("fsync", 1),
        ("chmod", 1),
        ("replace", 1),
    ],
    save_new: [
        ("create-temp", 1),
        ("open-zip", 1),
        ("write-zip-member", 1),
        ("write-zip-member", 2),
        ("close-zip", 1),
        ("fsync", 1),
        ("link", 1),
    ],
    save_overwrite: [
        ("create-temp", 1),
        ("write-zip-member", 2),
        ("fsync", 1),
        ("chmod", 1),
        ("replace", 1),
    ],
}
FAULTS = [
    pytest.param(writer, step, n, id=f"{writer.__name__}-{step}-{n}")
    for writer, steps in CASES.items()
    for step, n in steps
]


def _state(case):
    return {p: _sha(p) for p in case.protected}, _listing(case.folders)


def _assert_nothing_lost(case, before):
    hashes, listing = before
    assert {p: _sha(p) for p in case.protected} == hashes
    assert _listing(case.folders) == listing  # no temporary file, nothing new
    assert not any(p.exists() for p in case.absent)


def _inject(monkeypatch, step, n, error=None):
    owner, name, when = STEPS[step]
    return Fault(monkeypatch, owner, name, n=n, when=when, error=error)


@pytest.mark.parametrize(("writer", "step", "n"), FAULTS)
def test_a_fault_at_any_step_loses_nothing(env, monkeypatch, writer, step, n):
    case = writer(env)
    before = _state(case)
    fault = _inject(monkeypatch, step, n)
    with pytest.raises(Boom) as raised:
        case.run()
    assert raised.value is fault.error  # propagated, not swallowed nor replaced
    _assert_nothing_lost(case, before)
    monkeypatch.undo()
    case.run()
    assert case.done()
    assert not [p for f in case.folders for p in f.iterdir() if _is_temporary(p)]


@pytest.mark.parametrize(
    ("writer", "step", "n"),
    [(to_nwb_in_place, "write-nwb", 2), (save_overwrite, "write-zip-member", 1)],
)
def test_an_interrupt_loses_nothing(env, monkeypatch, writer, step, n):
    case = writer(env)
    before = _state(case)
    _inject(monkeypatch, step, n, error=KeyboardInterrupt())
    with pytest.raises(KeyboardInterrupt):
        case.run()
    _assert_nothing_lost(case, before)


def test_the_temporary_file_is_flushed_before_the_move(env, monkeypatch):
    case = save_overwrite(env)
    events = []
    fsync, replace = os.fsync, os.replace

    def spy_fsync(fd):
        events.append("fsync-folder" if stat.S_ISDIR(os.fstat(fd).st_mode) else "fsync-file")
        return fsync(fd)

    def spy_replace(src, dst, *args, **kwargs):
        events.append("replace")
        return replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "fsync", spy_fsync)
    monkeypatch.setattr(os, "replace", spy_replace)
    case.run()
    assert events == ["fsync-file", "replace", "fsync-folder"]


# ------------------------------------------------------------------ full disk


NO_SPACE = [
    pytest.param(
        to_nwb_in_place, "copy-source", 2, "the latents (a copy of Mitt.nwb", id="to_nwb-copy"
    ),
    pytest.param(
        to_nwb_in_place, "write-nwb", 2, "the latents (a copy of Mitt.nwb", id="to_nwb-write"
    ),
    pytest.param(
        to_nwb_out_dir, "write-nwb", 2, "the latents (a copy of Mitt.nwb", id="to_nwb-out_dir"
    ),
    pytest.param(write_recording_new, "write-nwb", 1, "the recording", id="write_recording"),
    pytest.param(
        write_recording_overwrite, "fsync", 1, "the recording", id="write_recording-fsync"
    ),
    pytest.param(save_overwrite, "write-zip-member", 2, "the NeuralModel", id="save"),
    pytest.param(save_new, "create-temp", 1, "the NeuralModel", id="save-create"),
]


@pytest.mark.parametrize(("writer", "step", "n", "what"), NO_SPACE)
def test_a_full_disk_names_the_file_and_loses_nothing(env, monkeypatch, writer, step, n, what):
    case = writer(env)
    before = _state(case)
    full = OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    _inject(monkeypatch, step, n, error=full)
    with pytest.raises(OSError) as raised:
        case.run()
    err = raised.value
    assert err.errno == errno.ENOSPC
    assert err.__cause__ is full
    assert err.filename == str(case.destination)
    message = str(err)
    assert message.startswith(f"[Errno {errno.ENOSPC}] {case.label}no space left on the device")
    assert what in message
    assert re.search(r"\d+ bytes of the file( of at least \d+ bytes)? were written", message)
    assert "Free some space and retry" in message
    state = "was not created" if case.destination in case.absent else "is unchanged"
    assert f"{case.destination} {state}" in message
    _assert_nothing_lost(case, before)
    monkeypatch.undo()
    case.run()
    assert case.done()


# ------------------------------------------------------------------ read-only, refusals


# The subject whose file or folder is refused: the first one checked, or the locked one.
_LABEL = r"subject '(Barat|Mitt)': "


def _read_only(path):
    path.chmod(path.stat().st_mode & ~0o222)


def _make_file_read_only(case, env):
    _read_only(case.destination)
    return case.destination


def _make_folder_read_only(case, env):
    _read_only(case.destination.parent)
    return case.destination.parent


READ_ONLY = [
    pytest.param(to_nwb_in_place, _make_file_read_only, "is read-only", id="to_nwb-file"),
    pytest.param(to_nwb_out_dir, _make_folder_read_only, "the folder", id="to_nwb-out_dir"),
    pytest.param(to_nwb_in_place, _make_folder_read_only, "the folder", id="to_nwb-folder"),
    pytest.param(
        write_recording_overwrite, _make_file_read_only, "is read-only", id="write_recording-file"
    ),
    pytest.param(
        write_recording_new, _make_folder_read_only, "the folder", id="write_recording-folder"
    ),
    pytest.param(save_overwrite, _make_file_read_only, "is read-only", id="save-file"),
    pytest.param(save_new, _make_folder_read_only, "the folder", id="save-folder"),
]


@pytest.mark.parametrize(("writer", "make_read_only", "text"), READ_ONLY)
def test_a_read_only_file_or_folder_is_refused(env, writer, make_read_only, text):
    """Real chmod. Root may write anyway, but a file or folder without any write
    permission bit is refused for root too, so this runs as root as well."""
    case = writer(env)
    before = _state(case)
    locked = make_read_only(case, env)
    try:
        with pytest.raises(PermissionError) as raised:
            case.run()
        message = str(raised.value)
        assert raised.value.errno == errno.EACCES
        assert re.match(rf"\[Errno {errno.EACCES}\] {_LABEL if case.label else ''}\S", message)
        assert str(locked) in message and text in message
        assert "chmod u+w" in message
        if writer.__name__.startswith("to_nwb"):  # an export says how to write elsewhere
            assert "out_dir=" in message
        _assert_nothing_lost(case, before)
    finally:
        locked.chmod(locked.stat().st_mode | 0o200)
    case.run()
    assert case.done()


@pytest.mark.parametrize(
    "writer", [to_nwb_in_place, to_nwb_out_dir, write_recording_new, save_new]
)
def test_permission_denied_by_the_system_is_explained(env, monkeypatch, writer):
    """What root cannot test with chmod (ACLs, a read-only mount, another owner): the
    system refuses to create the temporary file although the permission bits allow it."""
    case = writer(env)
    before = _state(case)
    denied = PermissionError(errno.EACCES, os.strerror(errno.EACCES), "somewhere")
    _inject(monkeypatch, "create-temp", 1, error=denied)
    with pytest.raises(PermissionError) as raised:
        case.run()
    message = str(raised.value)
    assert raised.value.errno == errno.EACCES
    assert raised.value.__cause__ is denied
    label = _LABEL if case.label else ""
    assert re.match(rf"\[Errno {errno.EACCES}\] {label}permission denied while", message)
    destination = Path(raised.value.filename)
    assert destination.parent == case.destination.parent
    assert f"Make {destination.parent} (and {destination.name}, if it exists) writable" in message
    _assert_nothing_lost(case, before)
    monkeypatch.undo()
    case.run()
    assert case.done()


def test_a_read_only_source_can_still_be_exported_elsewhere(env):
    case = to_nwb_out_dir(env)
    before = _state(case)
    for path in case.protected:
        _read_only(path)
    case.run()
    assert case.done()
    assert {p: _sha(p) for p in case.protected} == before[0]


def _export_twice(case):
    case.run()
    return "already holds processing/neuromix/latents_mmvm; pass overwrite=True"


REFUSALS = [
    pytest.param(to_nwb_in_place, _export_twice, id="to_nwb-latents-exist"),
    pytest.param(
        to_nwb_out_dir_overwrite,
        lambda case: "exists; pass overwrite=True to replace it",
        id="to_nwb-out_dir-file-exists",
    ),
    pytest.param(
        write_recording_overwrite,
        lambda case: "exists; pass overwrite=True to replace it",
        id="write_recording-file-exists",
    ),
    pytest.param(
        save_overwrite,
        lambda case: "exists; pass overwrite=True to replace it",
        id="save-file-exists",
    ),
]


@pytest.mark.parametrize(("writer", "prepare"), REFUSALS)
def test_an_existing_file_or_latents_is_refused_without_overwrite(env, writer, prepare):
    case = writer(env)
    expected = prepare(case)
    before = {p: _sha(p) for p in case.protected}, _listing(case.folders)
    run = case.run
    # The same write, without overwrite=True.
    if writer is to_nwb_out_dir_overwrite:
        files = {s: env.tmp / "work" / f"{s}.nwb" for s in SUBJECTS}
        run = lambda: env.model.to_nwb(files, out_dir=env.tmp / "out")  # noqa: E731
    elif writer is write_recording_overwrite:
        run = lambda: nm.write_recording(env.recording, case.destination)  # noqa: E731
    elif writer is save_overwrite:
        run = lambda: env.model.save(case.destination)  # noqa: E731
    with pytest.raises(FileExistsError) as raised:
        run()
    message = str(raised.value)
    label = "subject 'Barat': " if writer is not save_overwrite else ""
    assert message.startswith(label)
    assert re.search(rf"{re.escape(label)}\S*(Barat\.nwb|model\.nmx)", message)
    assert expected in message
    _assert_nothing_lost(case, before)


# ------------------------------------------------------------------ killed writers

CHILD = """
import json, sys, time
from pathlib import Path

sys.path.insert(0, sys.argv[1])
import neuromix as nm
from pynwb import NWBHDF5IO

flag = Path(sys.argv[2])


def slow(self, *args, **kwargs):  # the temporary copy exists; never finish
    flag.touch()
    time.sleep(600)


NWBHDF5IO.write = slow
model = nm.load(sys.argv[3])
paths = json.loads(sys.argv[4])
model.to_nwb(paths, out_dir=sys.argv[5] or None)
"""


def _wait_for(flag, child, timeout=300.0):
    deadline = time.monotonic() + timeout
    while not flag.exists():
        if child.poll() is not None:
            raise AssertionError(f"the child ended early:\n{child.stderr.read()}")
        if time.monotonic() > deadline:
            raise AssertionError("the child never reached the NWB write")
        time.sleep(0.1)


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL (POSIX)")
@pytest.mark.parametrize("writer", [to_nwb_in_place, to_nwb_out_dir])
def test_a_killed_export_loses_nothing_and_the_next_one_cleans_up(env, writer):
    case = writer(env)
    before = _state(case)
    saved = env.model.save(env.tmp / "model.nmx")
    flag = env.tmp / "writing"
    files = {s: str(env.tmp / "work" / f"{s}.nwb") for s in SUBJECTS}
    out = str(env.tmp / "out") if writer is to_nwb_out_dir else ""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(ROOT), str(flag), str(saved), json.dumps(files), out],
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        _wait_for(flag, child)
        folder = case.destination.parent
        leftovers = [p for p in folder.iterdir() if _is_temporary(p)]
        assert [p.name.split(".")[1] for p in leftovers] == ["Barat"]
        assert re.fullmatch(
            rf"\.Barat\.nwb\.[0-9a-f]{{8}}-{child.pid}\.[0-9a-f]{{8}}\.tmp\.nwb", leftovers[0].name
        )
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
        child.stderr.close()
    # The source (and the destination) as they were; the killed child's temporary file
    # is still there: nobody could remove it.
    assert {p: _sha(p) for p in case.protected} == before[0]
    assert not any(p.exists() for p in case.absent)
    assert [p for p in folder.iterdir() if _is_temporary(p)] == leftovers
    # The next export succeeds and removes the leftover of the dead process.
    case.run()
    assert case.done()
    assert not leftovers[0].exists()
    assert not [p for f in case.folders for p in f.iterdir() if _is_temporary(p)]


def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.skipif(os.name != "posix", reason="leftovers are only removed on POSIX")
def test_only_leftovers_of_dead_writers_on_this_host_are_removed(tmp_path):
    path = tmp_path / "model.nmx"
    host = _atomic._host()
    other_host = f"{(int(host, 16) + 1) % 2**32:08x}"
    dead = _dead_pid()
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    try:
        names = {
            "dead": f".model.nmx.{host}-{dead}.abcd1234.tmp",
            "alive": f".model.nmx.{host}-{alive.pid}.abcd1234.tmp",
            "other-host": f".model.nmx.{other_host}-{dead}.abcd1234.tmp",
            "other-file": f".other.nmx.{host}-{dead}.abcd1234.tmp",
            "not-ours": ".model.nmx.partial",
        }
        for name in names.values():
            (tmp_path / name).write_bytes(b"partial")
        _atomic.write_atomic(path, lambda tmp: tmp.write_bytes(b"model"))
    finally:
        alive.kill()
        alive.wait()
    assert path.read_bytes() == b"model"
    remaining = sorted(p.name for p in tmp_path.iterdir())
    assert remaining == sorted({*names.values(), "model.nmx"} - {names["dead"]})


# ------------------------------------------------------------------ image classifiers


def test_image_classifier_save_writes_both_files_or_neither(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    X = rng.uniform(size=(20, 1, 8, 8)).astype(np.float32)
    clf = ImageClassifier(epochs=1, width=4, seed=0, device="cpu").fit(X, np.arange(20) % 2)
    path = tmp_path / "clf.pt"
    path.write_bytes(b"old weights")
    config = tmp_path / "clf.pt.json"
    config.write_text("old config")
    # The second file fails: the first is put back.
    Fault(monkeypatch, os, "replace", n=2, when=lambda src, dst, *a, **k: _is_temporary(src))
    with pytest.raises(Boom):
        clf.save(path)
    assert path.read_bytes() == b"old weights" and config.read_text() == "old config"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clf.pt", "clf.pt.json"]
    monkeypatch.undo()
    clf.save(path)
    again = ImageClassifier.load(path, device="cpu")
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), rtol=1e-5)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clf.pt", "clf.pt.json"]
