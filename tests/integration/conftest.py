"""Integration fixtures: real `svcnet apiserver` processes and real kubectl.

Address conventions: API servers listen on 127.0.0.1 port 0 (the kernel picks
a free port; the server writes it into <data-dir>/kubeconfig). Nothing here
touches an address outside 127.0.0.0/8. Every process a fixture starts is
stopped by its PID in teardown, also when the test fails.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Server:
    data_dir: Path
    store: str = "sqlite"
    extra_args: list[str] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    url: str = ""
    token: str = ""
    log_path: Path | None = None
    cache_dir: Path | None = None

    @property
    def kubeconfig(self) -> Path:
        return self.data_dir / "kubeconfig"

    def start(self, timeout: float = 20.0) -> None:
        self.kubeconfig.unlink(missing_ok=True)
        self.log_path = self.data_dir.parent / f"{self.data_dir.name}.log"
        log = open(self.log_path, "ab")  # noqa: SIM115 - closed with the process
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "svcnet.cli",
                "apiserver",
                "--data-dir",
                str(self.data_dir),
                "--listen",
                "127.0.0.1:0",
                "--store",
                self.store,
                *self.extra_args,
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=ROOT,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"apiserver exited: {self.log()}")
            if self.kubeconfig.exists():
                try:
                    cfg = yaml.safe_load(self.kubeconfig.read_text())
                    self.url = cfg["clusters"][0]["cluster"]["server"]
                    self.token = cfg["users"][0]["user"]["token"]
                    return
                except (yaml.YAMLError, KeyError, TypeError, IndexError):
                    pass
            time.sleep(0.05)
        raise RuntimeError(f"apiserver did not start: {self.log()}")

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        rc = self.proc.returncode
        self.proc = None
        return rc

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path else ""

    def kubectl(
        self, *args: str, input: str | None = None, check: bool = True, timeout: float = 60
    ) -> subprocess.CompletedProcess:
        """Run the real kubectl on PATH against this server."""
        cmd = ["kubectl", f"--kubeconfig={self.kubeconfig}"]
        if self.cache_dir is not None:
            cmd.append(f"--cache-dir={self.cache_dir}")
        cmd += list(args)
        p = subprocess.run(
            cmd,
            input=input,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, "KUBECONFIG": str(self.kubeconfig)},
        )
        if check and p.returncode != 0:
            raise AssertionError(
                f"kubectl {' '.join(args)} failed ({p.returncode}):\nstdout: {p.stdout}\nstderr: {p.stderr}"
            )
        return p


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """A fresh apiserver (SQLite store) for one test."""
    s = Server(tmp_path / "data", cache_dir=tmp_path / "kcache")
    s.start()
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def shared_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One apiserver shared by a module's read-mostly tests."""
    base = tmp_path_factory.mktemp("shared")
    s = Server(base / "data", cache_dir=base / "kcache")
    s.start()
    try:
        yield s
    finally:
        s.stop()
