"""Run a real CNCF Distribution registry (`docker-registry serve`) on 127.0.0.1 for tests."""

from __future__ import annotations

import http.client
import json
import os
import secrets
import shutil
import socket
import ssl
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Mapping, Optional, Union

from .certs import CertPaths, generate_certs
from .tokenserver import TokenServer

REGISTRY_BINARY = "/usr/bin/docker-registry"
HTPASSWD_BINARY = "/usr/bin/htpasswd"
MODES = ("plain", "basic", "tls", "token")
BASIC_REALM = "basic-realm"
DEFAULT_USERNAME = "myuser"
DEFAULT_PASSWORD = "mypass"

START_TIMEOUT = 15.0
# How many times to retry when another process grabs the chosen port before the registry binds.
_PORT_ATTEMPTS = 3
_LOG_TAIL_LINES = 40


def registry_env() -> dict[str, str]:
    """The process environment minus REGISTRY_* variables.

    Distribution reads every `REGISTRY_<SECTION>_<KEY>` variable as a config override, so a stray
    one (podman's REGISTRY_AUTH_FILE becomes `auth.file`) breaks or silently changes the config.
    """
    return {k: v for k, v in os.environ.items() if not k.upper().startswith("REGISTRY_")}


def _registry_command(config_path: Path) -> list[str]:
    command = [REGISTRY_BINARY, "serve", str(config_path)]
    # setpriv (util-linux) execs the registry with a parent-death signal: if pytest is killed
    # outright the registry gets SIGTERM instead of lingering on its port. It avoids preexec_fn,
    # which is unsafe while the token server's thread runs.
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *command] if setpriv else command


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _yaml(value: object) -> str:
    # A JSON string is a valid YAML double-quoted scalar, so paths need no further escaping.
    return json.dumps(str(value))


def htpasswd_lines(users: Mapping[str, str]) -> str:
    """bcrypt htpasswd entries (the only hash Distribution accepts) made by apache2-utils."""
    lines = []
    for username, password in users.items():
        result = subprocess.run(
            [HTPASSWD_BINARY, "-nbB", username, password],
            check=True,
            capture_output=True,
            text=True,
        )
        lines.append(result.stdout.strip())
    return "\n".join(lines) + "\n"


class RegistryServer:
    """One Distribution registry process in `plain`, `basic`, `tls` or `token` mode.

    After `start()`: `host` ("127.0.0.1:PORT"), `port`, `url`, `username`/`password` (None in
    plain mode), `ca_path`/`client_cert`/`client_key` (tls mode), `storage_dir`, `log_path`,
    `config_path` and `token_server` (token mode). In token mode the token server's `users`
    are the accounts; `users` passed here only seed a token server this class creates itself.
    """

    def __init__(
        self,
        mode: str = "plain",
        *,
        workdir: Optional[Union[str, Path]] = None,
        certs: Optional[CertPaths] = None,
        users: Optional[Mapping[str, str]] = None,
        client_auth: bool = False,
        token_server: Optional[TokenServer] = None,
        log_level: str = "info",
        anonymous: bool = False,
    ) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown registry mode {mode!r}; expected one of {MODES}")
        if client_auth and mode != "tls":
            raise ValueError("client_auth needs mode='tls'")
        if anonymous and mode != "tls":
            raise ValueError("anonymous needs mode='tls' (plain mode has no auth already)")
        self.mode = mode
        self.client_auth = client_auth
        #: tls mode without htpasswd: an HTTPS registry anyone may read and write.
        self.anonymous = anonymous
        self.log_level = log_level
        self._own_workdir = workdir is None
        self.workdir = Path(
            tempfile.mkdtemp(prefix=f"oras-registry-{mode}-") if workdir is None else workdir
        )
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.storage_dir = self.workdir / "storage"
        self.config_path = self.workdir / "config.yml"
        self.log_path = self.workdir / "registry.log"
        self.htpasswd_path = self.workdir / "htpasswd"

        self.users: dict[str, str] = {}
        if mode != "plain" and not anonymous:
            self.users = {DEFAULT_USERNAME: DEFAULT_PASSWORD, **(users or {})}
        self.username: Optional[str] = DEFAULT_USERNAME if self.users else None
        self.password: Optional[str] = DEFAULT_PASSWORD if self.users else None

        if certs is None and mode in ("tls", "token"):
            certs = generate_certs(self.workdir / "certs")
        self.certs = certs
        self.ca_path: Optional[Path] = certs.ca_cert if certs and mode == "tls" else None
        self.client_cert: Optional[Path] = certs.client_cert if certs and mode == "tls" else None
        self.client_key: Optional[Path] = certs.client_key if certs and mode == "tls" else None

        self._own_token_server = False
        self.token_server: Optional[TokenServer] = None
        if mode == "token":
            if token_server is None:
                assert certs is not None
                token_server = TokenServer(certs.token_key, users=self.users)
                self._own_token_server = True
            self.token_server = token_server
            # The token server is the authority on users in this mode.
            self.users = dict(token_server.users)

        self.port = 0
        self._process: Optional[subprocess.Popen[bytes]] = None

    @property
    def scheme(self) -> str:
        return "https" if self.mode == "tls" else "http"

    @property
    def host(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    def ref(self, repository: str, tag: Optional[str] = None) -> str:
        """`host/repository[:tag]`, the form the CLI and oras-py take."""
        return f"{self.host}/{repository}" + (f":{tag}" if tag else "")

    def blob_path(self, digest: str) -> Path:
        """The file in the registry's storage that holds a blob's bytes (tests corrupt it)."""
        algorithm, encoded = digest.split(":", 1)
        return (
            self.storage_dir
            / "docker/registry/v2/blobs"
            / algorithm
            / encoded[:2]
            / encoded
            / "data"
        )

    def _config_text(self) -> str:
        lines = [
            "version: 0.1",
            "log:",
            f"  level: {self.log_level}",
            "  formatter: text",
            "  accesslog:",
            "    disabled: false",
            "storage:",
            "  filesystem:",
            f"    rootdirectory: {_yaml(self.storage_dir)}",
            "  delete:",
            "    enabled: true",
            "  maintenance:",
            "    uploadpurging:",
            "      enabled: false",
            "http:",
            f"  addr: {_yaml(self.host)}",
            # An explicit secret silences the 'generated random secret' startup warning.
            f"  secret: {_yaml(secrets.token_hex(16))}",
            "  headers:",
            "    X-Content-Type-Options: [nosniff]",
        ]
        if self.mode == "tls":
            assert self.certs is not None
            lines += [
                "  tls:",
                f"    certificate: {_yaml(self.certs.server_cert)}",
                f"    key: {_yaml(self.certs.server_key)}",
            ]
            if self.client_auth:
                lines += ["    clientcas:", f"      - {_yaml(self.certs.ca_cert)}"]
        if self.mode in ("basic", "tls") and not self.anonymous:
            lines += [
                "auth:",
                "  htpasswd:",
                f"    realm: {_yaml(BASIC_REALM)}",
                f"    path: {_yaml(self.htpasswd_path)}",
            ]
        elif self.mode == "token":
            assert self.token_server is not None and self.certs is not None
            lines += [
                "auth:",
                "  token:",
                f"    realm: {_yaml(self.token_server.realm)}",
                f"    service: {_yaml(self.token_server.service)}",
                f"    issuer: {_yaml(self.token_server.issuer)}",
                f"    rootcertbundle: {_yaml(self.certs.token_cert)}",
            ]
        return "\n".join(lines) + "\n"

    def start(self) -> RegistryServer:
        """Start the registry and wait until `/v2/` answers; RuntimeError with the log otherwise."""
        if self._process is not None:
            return self
        if self.token_server is not None:
            self.token_server.start()
        if self.mode in ("basic", "tls") and not self.anonymous:
            self.htpasswd_path.write_text(htpasswd_lines(self.users))
        self.storage_dir.mkdir(parents=True, exist_ok=True)

        last_error = ""
        for _ in range(_PORT_ATTEMPTS):
            self.port = free_port()
            self.config_path.write_text(self._config_text())
            log = open(self.log_path, "ab")
            try:
                self._process = subprocess.Popen(
                    _registry_command(self.config_path),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    cwd=self.workdir,
                    env=registry_env(),
                )
            finally:
                log.close()
            last_error = self._wait_ready()
            if not last_error:
                return self
            self._kill()
            if "address already in use" not in self.log_tail().lower():
                break
        self._stop_token_server()
        raise RuntimeError(
            f"{self.mode} registry did not start: {last_error}\n"
            f"--- {self.log_path} (tail) ---\n{self.log_tail()}"
        )

    def _ssl_context(self) -> ssl.SSLContext:
        assert self.ca_path is not None and self.client_cert is not None
        context = ssl.create_default_context(cafile=str(self.ca_path))
        if self.client_auth:
            context.load_cert_chain(str(self.client_cert), str(self.client_key))
        return context

    def _wait_ready(self) -> str:
        """Return "" once `GET /v2/` gets any HTTP answer, else why it never did."""
        assert self._process is not None
        deadline = time.monotonic() + START_TIMEOUT
        context = self._ssl_context() if self.mode == "tls" else None
        while time.monotonic() < deadline:
            code = self._process.poll()
            if code is not None:
                return f"process exited with status {code}"
            conn: http.client.HTTPConnection
            if context is not None:
                conn = http.client.HTTPSConnection(
                    "127.0.0.1", self.port, timeout=2, context=context
                )
            else:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
            try:
                conn.request("GET", "/v2/")
                conn.getresponse().read()
                return ""
            except (OSError, http.client.HTTPException):
                time.sleep(0.05)
            finally:
                conn.close()
        return f"GET /v2/ got no answer within {START_TIMEOUT:.0f} s"

    @property
    def pid(self) -> Optional[int]:
        """The registry's process id while it runs (setpriv execs it, keeping the pid)."""
        return self._process.pid if self._process is not None else None

    def log_tail(self, lines: int = _LOG_TAIL_LINES) -> str:
        """The last lines of the registry log, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError as err:
            return f"(no log: {err})"
        return "\n".join(text.splitlines()[-lines:])

    def _kill(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)

    def _stop_token_server(self) -> None:
        if self.token_server is not None and self._own_token_server:
            self.token_server.stop()

    def stop(self) -> None:
        """Terminate the registry (and a token server it created) and wait for it to exit."""
        self._kill()
        self._stop_token_server()
        if self._own_workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> RegistryServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
