"""A private PulseAudio daemon for tests (real audio server, no mocks).

What works here (Debian 12, PulseAudio 16.1, tests run as **root**, no D-Bus, no systemd user
session) — found by trying:

* ``--system`` is *not* needed and not wanted (it wants a ``pulse`` user, /var/run/pulse and
  forbids module loading from clients). A per-user daemon runs fine as root; it only logs
  "This program is not intended to be run as root (unless --system is specified)".
* Run it in the foreground as our child: ``pulseaudio --daemonize=no -n --exit-idle-time=-1
  --use-pid-file=no --disallow-exit ...``. ``-n`` skips default.pa (no udev/ALSA cards, no
  D-Bus, no X11 bell modules: nothing that probes the host), so we ``--load`` exactly:
  ``module-native-protocol-unix socket=<tmp>/pulse/native auth-anonymous=1`` and
  ``module-null-sink sink_name=call``, then ``pactl set-default-sink call``.
* Isolation: ``XDG_RUNTIME_DIR`` and ``PULSE_RUNTIME_PATH`` point into a temp dir and ``HOME``
  too (otherwise a cookie is written to ``~/.config/pulse``). Clients reach it only through
  ``PULSE_SERVER=unix:<tmp>/pulse/native`` (no autospawn, no clash with a desktop server).
* The D-Bus warnings ("Unable to contact D-Bus ...") are harmless.
* The daemon answers ``pactl info`` ~0.1 s after it starts; we poll for that (10 s limit).
* sounddevice/PortAudio sees the server through ALSA's ``pulse`` plugin (apt
  libasound2-plugins) as the device named ``pulse``; PortAudio lists it only if the server
  was reachable when PortAudio initialised (see ``audio_devices.refresh_portaudio``).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path


class PulseError(RuntimeError):
    pass


class PulseServer:
    """One private ``pulseaudio`` process with null sinks. ``server`` is the ``PULSE_SERVER`` string."""

    def __init__(self, sinks: tuple[str, ...] = ("call",), default_sink: str | None = "call", *,
                 start_timeout_s: float = 10.0) -> None:
        self.sinks = tuple(sinks)
        self.default_sink = default_sink
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen | None = None
        self.tmp: Path | None = None
        self.server: str | None = None

    @property
    def socket(self) -> Path:
        assert self.tmp is not None
        return self.tmp / "pulse" / "native"

    @property
    def env(self) -> dict[str, str]:
        """Environment for a client of this server (pactl, paplay, PortAudio)."""
        assert self.server, "start() first"
        return {"PULSE_SERVER": self.server}

    def _client_env(self) -> dict[str, str]:
        env = dict(os.environ)
        for k in ("PULSE_SOURCE", "PULSE_SINK"):
            env.pop(k, None)
        env.update(self.env)
        return env

    def start(self) -> "PulseServer":
        exe = shutil.which("pulseaudio")
        if exe is None or shutil.which("pactl") is None:
            raise PulseError("pulseaudio/pactl are not installed (apt install pulseaudio pulseaudio-utils)")
        self.tmp = Path(tempfile.mkdtemp(prefix="ig-pulse-"))
        (self.tmp / "pulse").mkdir(mode=0o700)
        (self.tmp / "home").mkdir(mode=0o700)
        env = {k: v for k, v in os.environ.items() if not k.startswith("PULSE_")}
        env.update(XDG_RUNTIME_DIR=str(self.tmp), PULSE_RUNTIME_PATH=str(self.tmp / "pulse"),
                   PULSE_STATE_PATH=str(self.tmp / "state"), HOME=str(self.tmp / "home"))
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        cmd = [exe, "--daemonize=no", "-n", "--exit-idle-time=-1", "--use-pid-file=no", "--disallow-exit",
               "--realtime=no", "--high-priority=no", f"--log-target=file:{self.tmp / 'pulse.log'}",
               f"--load=module-native-protocol-unix socket={self.socket} auth-anonymous=1"]
        for s in self.sinks:
            cmd.append(f"--load=module-null-sink sink_name={s} rate=48000")
        self.proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True)
        self.server = f"unix:{self.socket}"
        deadline = time.monotonic() + self.start_timeout_s
        while True:
            if self.proc.poll() is not None:
                log = self.log_tail()
                self.stop()
                raise PulseError(f"pulseaudio exited at start (code {self.proc_rc}): {log}")
            if self.socket.exists() and self._pactl_ok("info"):
                break
            if time.monotonic() > deadline:
                log = self.log_tail()
                self.stop()
                raise PulseError(f"pulseaudio did not answer within {self.start_timeout_s:.0f} s: {log}")
            time.sleep(0.05)
        if self.default_sink:
            self.pactl("set-default-sink", self.default_sink)
        return self

    proc_rc: int | None = None

    def _pactl_ok(self, *args: str) -> bool:
        r = subprocess.run(["pactl", *args], env=self._client_env(), capture_output=True, timeout=10)
        return r.returncode == 0

    def pactl(self, *args: str) -> str:
        r = subprocess.run(["pactl", *args], env=self._client_env(), capture_output=True, text=True, timeout=10)
        if r.returncode != 0:
            raise PulseError(f"pactl {' '.join(args)} failed: {r.stderr.strip() or r.stdout.strip()}")
        return r.stdout

    def add_null_sink(self, name: str) -> int:
        """Load another null sink; returns the module index."""
        return int(self.pactl("load-module", "module-null-sink", f"sink_name={name}", "rate=48000").strip())

    def play(self, wav: str | Path, sink: str = "call") -> subprocess.Popen:
        """Start ``paplay --device=<sink> <wav>`` and return the process (wait() on it)."""
        return subprocess.Popen(["paplay", f"--device={sink}", str(wav)], env=self._client_env(),
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)

    def log_tail(self, n: int = 800) -> str:
        try:
            return (self.tmp / "pulse.log").read_text(errors="replace")[-n:].strip() if self.tmp else ""
        except OSError:
            return ""

    def stop(self) -> None:
        p, self.proc = self.proc, None
        if p is not None:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait(timeout=5)
            self.proc_rc = p.returncode
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)
            self.tmp = None

    def __enter__(self) -> "PulseServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
