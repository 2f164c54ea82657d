"""`TestRegistry`: an OCI registry in a background thread of this process, for tests."""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Mapping, Optional, Union

from oras.testing.auth import (
    DEFAULT_TOKEN_LIFETIME,
    Authenticator,
    BasicAuth,
    PasswordCheck,
    TokenAuth,
    plain_users,
    read_htpasswd,
)
from oras.testing.server import RegistryHTTPServer, Settings, make_server
from oras.testing.storage import DirectoryStorage, MemoryStorage, Storage

PathLike = Union[str, "os.PathLike[str]"]


class TestRegistry:
    """A distribution-spec 1.1 registry on `host:port` (127.0.0.1 and a free port by default).

    `storage`: None keeps everything in memory; a directory path keeps blobs and metadata there
    (and finds them again on the next start). `users` (`{name: password}`) or `htpasswd` (a file)
    turn on basic auth, or bearer tokens from the registry's own `/token` realm with
    `token=True` (`token_lifetime` seconds, `permissions` as in `TokenAuth`). `referrers=False`
    answers the referrers API with 404 as Distribution 2.8 does (`referrers_page_size` splits its
    answers into pages linked by `Link`); `delete=False` refuses deletes
    with 405 UNSUPPORTED; `chunk_min_length` is announced in `OCI-Chunk-Min-Length`.

    Use it as a context manager (`with TestRegistry() as reg: reg.url`) or call `start()` and
    `stop()`. `host` is `127.0.0.1:PORT` (what references take), `url` is `http://` + host.
    """

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        storage: Optional[Union[PathLike, Storage]] = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        users: Optional[Mapping[str, str]] = None,
        htpasswd: Optional[PathLike] = None,
        token: bool = False,
        token_lifetime: float = DEFAULT_TOKEN_LIFETIME,
        permissions: Optional[Mapping[str, Mapping[str, str]]] = None,
        referrers: bool = True,
        referrers_page_size: int = 0,
        delete: bool = True,
        chunk_min_length: int = 0,
    ) -> None:
        if isinstance(storage, Storage):
            self.storage: Storage = storage
        elif storage is None:
            self.storage = MemoryStorage()
        else:
            self.storage = DirectoryStorage(storage)
        self.storage_dir: Optional[Path] = getattr(self.storage, "root", None)
        checks: dict[str, PasswordCheck] = {}
        if htpasswd is not None:
            checks.update(read_htpasswd(htpasswd))
        checks.update(plain_users(users or {}))
        if token and not checks:
            raise ValueError("token=True needs users or an htpasswd file")
        first_user = next(iter(users or {}), None)
        #: The first of `users` and its password, for tests that log in (None without users).
        self.username: Optional[str] = first_user
        self.password: Optional[str] = (users or {}).get(first_user) if first_user else None
        self.auth: Optional[Authenticator] = None
        if token:
            self.auth = TokenAuth(checks, lifetime=token_lifetime, permissions=permissions)
        elif checks:
            self.auth = BasicAuth(checks)
        self.mode = "token" if token else "basic" if checks else "plain"
        self.settings = Settings(
            self.storage,
            self.auth,
            referrers=referrers,
            referrers_page_size=referrers_page_size,
            delete=delete,
            chunk_min_length=chunk_min_length,
        )
        self._bind_host = host
        self._bind_port = port
        self._server: Optional[RegistryHTTPServer] = None
        self._thread: Optional[threading.Thread] = None
        self.port = port

    @property
    def scheme(self) -> str:
        return "http"

    @property
    def host(self) -> str:
        """`address:port` the registry listens on (what image references take)."""
        return f"{self._bind_host}:{self.port}"

    @property
    def url(self) -> str:
        return f"{self.scheme}://{self.host}"

    @property
    def token_realm(self) -> Optional[str]:
        return f"{self.url}/token" if isinstance(self.auth, TokenAuth) else None

    def ref(self, repository: str, tag: Optional[str] = None) -> str:
        """`host/repository[:tag]`."""
        return f"{self.host}/{repository}" + (f":{tag}" if tag else "")

    def start(self) -> TestRegistry:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is not None:
            return self
        self._server = make_server(self._bind_host, self._bind_port, self.settings)
        self.port = self._server.server_address[1]
        if isinstance(self.auth, TokenAuth):
            self.auth.realm = f"{self.url}/token"
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"oras-test-registry-{self.port}",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        server, self._server = self._server, None
        if server is None:
            return
        server.shutdown()
        server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.storage.close()

    def blob_path(self, digest: str) -> Path:
        """The file holding a blob's bytes (directory storage only; tests corrupt it)."""
        if not isinstance(self.storage, DirectoryStorage):
            raise ValueError("blob_path needs directory storage")
        return self.storage.blob_path(digest)

    def log_tail(self, lines: int = 40) -> str:
        """Nothing: the registry logs through `logging` ("oras.testing"), not to a file."""
        return ""

    def __enter__(self) -> TestRegistry:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
