"""Crash safety of flagged segments, with real processes and a real full filesystem.

* The writer process is SIGKILLed while it writes a segment (mid-mux, between the two renames,
  and before the index row): no corrupt segment is ever visible, earlier segments stay intact,
  and opening the store afterwards cleans up.
* A 2-MB filesystem fills up: the write fails with one clear sentence, nothing corrupt is left,
  earlier segments are intact, and saving works again once space is freed. The filesystem is a
  ``tmpfs`` mount (root); when mounting is not permitted, a loop-mounted ext2 image; when that
  is not permitted either, ENOSPC is injected into the write (the test prints which).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from interview_guard.recording.store import PARTIAL, RecordingError, SegmentStore, sha256_file

from .recording_helpers import decode_all, make_job

REPO = Path(__file__).resolve().parents[2]

WRITER = textwrap.dedent('''
    import os, signal, sys, time
    sys.path.insert(0, {repo!r})
    from tests.unit.recording_helpers import make_job
    import interview_guard.recording.store as store_mod
    from interview_guard.recording.store import SegmentStore
    root, mode = sys.argv[1], sys.argv[2]
    st = SegmentStore(root)
    for i in range(2):
        st.write_segment(make_job(1.0, start_s=10.0 * i))
        print("done", i, flush=True)
    job = make_job(12.0, start_s=100.0, w=480, h=270, noise=True)

    if mode == "mid_write":
        # the muxer holds video back until audio arrives (interleaving), so the file grows only in
        # the audio phase: halfway through the audio blocks the writer says so and waits there to be
        # killed, mid-mux, however loaded the machine is
        import numpy
        import interview_guard.recording.writer as writer_mod

        class HaltMidAudio:
            blocks = 0
            def __getattr__(self, name):
                return getattr(numpy, name)
            def ascontiguousarray(self, a, *args, **kwargs):   # called once per audio block
                HaltMidAudio.blocks += 1
                if HaltMidAudio.blocks == 60:
                    print("halfway", flush=True)
                    time.sleep(60)
                return numpy.ascontiguousarray(a, *args, **kwargs)

        writer_mod.np = HaltMidAudio()
        print("writing", flush=True)
    elif mode == "between_renames":
        real = os.replace
        calls = []
        def replace(a, b):
            real(a, b)
            calls.append(b)
            if len(calls) == 1:
                os.kill(os.getpid(), signal.SIGKILL)
        store_mod.os.replace = replace
    elif mode == "before_index":
        st.index.add = lambda row: os.kill(os.getpid(), signal.SIGKILL)
    st.write_segment(job)
    print("finished", flush=True)
''')


def _run_writer(root: Path, mode: str) -> tuple[int, str]:
    code = WRITER.format(repo=str(REPO))
    proc = subprocess.Popen([sys.executable, "-c", code, str(root), mode], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=REPO)
    lines = []
    if mode == "mid_write":
        deadline = time.time() + 120
        while time.time() < deadline:
            ln = proc.stdout.readline()
            if not ln:
                break
            lines.append(ln.strip())
            if ln.strip() == "halfway":               # the writer is inside the mux, half the packets in
                proc.send_signal(signal.SIGKILL)
                break
    out, err = proc.communicate(timeout=120)
    lines += out.split()
    return proc.returncode, " ".join(lines) + err[-2000:]


def _assert_no_corrupt_final_files(root: Path) -> None:
    """What a crash left *before* any recovery: every final-named mp4 decodes fully, and every
    sidecar's sha256 matches its mp4."""
    import json

    for mp4 in root.glob("*.mp4"):
        decode_all(mp4)
        side = mp4.with_suffix(".json")
        if side.exists():
            assert json.loads(side.read_text())["sha256"] == sha256_file(mp4)


@pytest.mark.parametrize("mode", ["mid_write", "between_renames", "before_index"])
def test_sigkill_while_writing_never_leaves_a_corrupt_segment(tmp_path, mode):
    root = tmp_path / "rec"
    rc, log = _run_writer(root, mode)
    assert rc == -signal.SIGKILL, (rc, log)
    assert "done 1" in log and "finished" not in log
    if mode == "mid_write":
        assert any(p.suffix == ".mp4" and p.stat().st_size > 2000 for p in (root / PARTIAL).iterdir()), \
            "no half-written mp4 in .partial when the writer was killed"
    _assert_no_corrupt_final_files(root)
    st = SegmentStore(root)                       # recovery
    rows = st.list()
    want = 3 if mode == "before_index" else 2     # a complete, renamed pair is re-indexed by its sha256
    assert len(rows) == want, [r.id for r in rows]
    for r in rows:
        assert st.verify(r)
        n, codecs = decode_all(st.media_path(r))
        assert codecs == ["h264", "aac"] and n > 0
    assert not any((root / PARTIAL).iterdir())
    assert sorted(p.name for p in root.glob("*.mp4")) == sorted(r.file for r in rows)
    # the store still works after the crash
    st.write_segment(make_job(1.0, start_s=200.0))
    assert len(st.list()) == want + 1


# -- full disk ----------------------------------------------------------------------------------------

def _small_fs(path: Path) -> tuple[str, callable]:
    """Mount a 2-MB filesystem at ``path``; returns (method, unmount)."""
    path.mkdir(parents=True)
    if os.geteuid() == 0 and shutil.which("mount"):
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(path)], capture_output=True)
        if r.returncode == 0:
            return "tmpfs", lambda: subprocess.run(["umount", "-l", str(path)], capture_output=True)
        img = path.parent / "small.img"
        if shutil.which("mkfs.ext2"):
            with open(img, "wb") as f:
                f.truncate(2 * 1024 * 1024)
            mk = subprocess.run(["mkfs.ext2", "-q", "-F", "-m", "0", str(img)], capture_output=True)
            if mk.returncode == 0:
                r = subprocess.run(["mount", "-o", "loop", str(img), str(path)], capture_output=True)
                if r.returncode == 0:
                    return "loop-mounted ext2 image", lambda: subprocess.run(["umount", "-l", str(path)],
                                                                            capture_output=True)
    return "injected ENOSPC", lambda: None


def test_full_disk_is_a_clear_error_and_keeps_earlier_segments(tmp_path, monkeypatch):
    mnt = tmp_path / "small"
    method, unmount = _small_fs(mnt)
    print(f"\nfull-disk test uses: {method}")
    try:
        if method == "injected ENOSPC":
            import interview_guard.recording.store as store_mod

            real = store_mod.write_mp4
            n_ok = {"n": 0}

            def limited(path, *a, **k):
                if n_ok["n"] >= 3:
                    with open(path, "wb") as f:
                        f.write(b"\0" * 1000)
                    raise OSError(28, "No space left on device")
                n_ok["n"] += 1
                return real(path, *a, **k)

            monkeypatch.setattr(store_mod, "write_mp4", limited)
        st = SegmentStore(mnt)
        saved = []
        err = None
        for i in range(40):
            try:
                saved.append(st.write_segment(make_job(1.0, start_s=10.0 * i, w=240, h=136, noise=True)))
            except RecordingError as e:
                err = str(e)
                break
        assert err is not None, "the filesystem never filled up"
        assert "full" in err and str(mnt) in err and "Earlier segments are safe" in err
        assert "\n" not in err and "Traceback" not in err
        assert len(saved) >= 1
        print(f"saved {len(saved)} segments, then: {err}")
        rows = st.list()
        assert [r.id for r in rows] == [r.id for r in saved]
        for r in rows:
            assert st.verify(r)
            decode_all(st.media_path(r))
        assert not any((mnt / PARTIAL).iterdir())
        assert sorted(p.name for p in mnt.glob("*.mp4")) == sorted(r.file for r in rows)
        # a fresh open (recovery) agrees, and freeing space lets the next one through
        assert [r.id for r in SegmentStore(mnt).list()] == [r.id for r in saved]
        if method == "injected ENOSPC":
            monkeypatch.undo()
        else:
            for r in rows[:2]:
                st.delete(r.id)
        st.write_segment(make_job(0.5, start_s=999.0))
    finally:
        unmount()
