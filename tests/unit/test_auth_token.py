"""TokenAuth against a scripted token server: cache keys, scopes, renewal, grants, limits, origins."""

from __future__ import annotations

import io
import json
import threading
import time
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, urlsplit

import pytest
import requests

import oras.auth.token as token_module
from oras.auth import BasicAuth, TokenAuth
from oras.errors import AuthenticationError, InvalidReferenceError, ProtocolError
from oras.reference import parse_reference

REGISTRY = "reg.example"
REALM = "https://auth.example/token"
BEARER = f'Bearer realm="{REALM}",service="svc"'


def _response(status: int, body: Any = None, headers: Optional[dict] = None) -> requests.Response:
    response = requests.Response()
    response.status_code = status
    data = body if isinstance(body, bytes) else json.dumps(body or {}).encode()
    response.raw = io.BytesIO(data)
    response.headers.update(headers or {})
    return response


class FakeSession:
    """Answers token requests with `reply(method, url, form_or_params, auth)`; logs each."""

    def __init__(self, reply: Optional[Callable[..., requests.Response]] = None) -> None:
        self.calls: list[dict[str, Any]] = []
        self.count = 0
        self.reply = reply or self._token

    def _token(self, method: str, url: str, fields: dict, auth: Any) -> requests.Response:
        self.count += 1
        return _response(200, {"token": f"t{self.count}", "expires_in": 300})

    def get(self, url: str, params: Any = None, auth: Any = None, **kw: Any) -> requests.Response:
        fields: dict[str, list[str]] = {}
        for key, value in params or []:
            fields.setdefault(key, []).append(value)
        self.calls.append({"method": "GET", "url": url, "fields": fields, "auth": auth})
        return self.reply("GET", url, fields, auth)

    def post(self, url: str, data: Any = None, **kw: Any) -> requests.Response:
        fields = {k: [v] for k, v in (data or {}).items()}
        self.calls.append({"method": "POST", "url": url, "fields": fields, "auth": None})
        return self.reply("POST", url, fields, None)

    def scopes(self, index: int = -1) -> list[str]:
        call = self.calls[index]
        if call["method"] == "POST":
            return call["fields"].get("scope", [""])[0].split()
        return call["fields"].get("scope", [])


def _challenge_401(
    url: str, header: str = BEARER, method: str = "GET", sent: str = ""
) -> requests.Response:
    response = _response(401, {}, {"WWW-Authenticate": header})
    response.url = url
    response.request = requests.Request(method, url).prepare()
    if sent:
        response.request.headers["Authorization"] = sent
    return response


def _backend(session: FakeSession, cls: type = TokenAuth) -> TokenAuth:
    backend = cls(session=session)
    backend.load_configs(f"{REGISTRY}/any/repo:v1")
    return backend


def _url(repo: str, tail: str = "manifests/v1") -> str:
    return f"https://{REGISTRY}/v2/{repo}/{tail}"


def _challenged(session: FakeSession, url: str = "", **kw: Any) -> TokenAuth:
    backend = _backend(session)
    headers, changed = backend.authenticate_request(_challenge_401(url or _url("a/b")), {})
    assert changed and headers["Authorization"].startswith("Bearer ")
    return backend


def test_tokens_are_cached_per_scope_set_and_reused() -> None:
    session = FakeSession()
    backend = _challenged(session)
    assert session.scopes() == ["repository:a/b:pull"]
    first = backend.auth_headers("GET", _url("a/b", "blobs/sha256:0"))
    assert first == {"Authorization": "Bearer t1"} and session.count == 1
    assert backend.auth_headers("GET", _url("c/d")) == {"Authorization": "Bearer t2"}
    assert session.scopes() == ["repository:c/d:pull"]
    # a write needs pull,push: a new token, not the pull one
    assert backend.auth_headers("PUT", _url("a/b")) == {"Authorization": "Bearer t3"}
    assert session.scopes() == ["repository:a/b:pull,push"]
    # later reads of that repository reuse a cached token
    assert backend.auth_headers("HEAD", _url("a/b"))["Authorization"] in ("Bearer t1", "Bearer t3")
    assert session.count == 3


def test_want_scope_asks_for_pull_push_up_front() -> None:
    session = FakeSession()
    backend = _backend(session)
    backend.want_scope(REGISTRY, "a/b", ["push", "pull"])
    backend.authenticate_request(_challenge_401(_url("a/b", "blobs/sha256:0"), method="HEAD"), {})
    assert session.scopes() == ["repository:a/b:pull,push"]


def test_mount_asks_for_both_repositories_in_one_token() -> None:
    session = FakeSession()
    backend = _challenged(session)
    mount = f"https://{REGISTRY}/v2/dst/repo/blobs/uploads/?mount=sha256:0&from=src/repo"
    backend.auth_headers("POST", mount)
    assert session.scopes() == ["repository:dst/repo:pull,push", "repository:src/repo:pull"]
    backend.want_mount(REGISTRY, "x/target", "y/source")
    backend.auth_headers("HEAD", _url("x/target", "blobs/sha256:0"))
    assert session.scopes() == ["repository:x/target:pull,push", "repository:y/source:pull"]


def test_tokens_are_renewed_before_they_expire(monkeypatch: pytest.MonkeyPatch) -> None:
    now = [1000.0]
    monkeypatch.setattr(token_module.time, "monotonic", lambda: now[0])
    session = FakeSession(lambda *a: _response(200, {"token": f"t{len(session.calls)}"}))
    backend = _challenged(session)
    assert backend.auth_headers("GET", _url("a/b")) == {"Authorization": "Bearer t1"}
    now[0] += 60 - token_module.EXPIRY_SKEW - 1  # `expires_in` absent: 60 s, renewed early
    assert backend.auth_headers("GET", _url("a/b")) == {"Authorization": "Bearer t1"}
    now[0] += 2
    assert backend.auth_headers("GET", _url("a/b")) == {"Authorization": "Bearer t2"}


def test_invalid_token_401_drops_it_and_fetches_another() -> None:
    session = FakeSession()
    backend = _challenged(session)
    refused = _challenge_401(_url("a/b"), BEARER + ',error="invalid_token"', sent="Bearer t1")
    headers, changed = backend.authenticate_request(refused, {"Authorization": "Bearer t1"})
    assert changed and headers["Authorization"] == "Bearer t2"
    assert backend.auth_headers("GET", _url("a/b")) == {"Authorization": "Bearer t2"}


def test_insufficient_scope_fetches_the_union_then_gives_up() -> None:
    session = FakeSession()
    backend = _challenged(session)
    wider = BEARER + ',scope="repository:other/x:pull",error="insufficient_scope"'
    headers, changed = backend.authenticate_request(
        _challenge_401(_url("a/b"), wider), {"Authorization": "Bearer t1"}
    )
    assert changed and headers["Authorization"] == "Bearer t2"
    assert session.scopes() == ["repository:a/b:pull", "repository:other/x:pull"]
    # the server refuses the union too: no further token requests, no retry
    count = session.count
    again = BEARER + ',scope="repository:a/b:pull",error="insufficient_scope"'
    _, changed = backend.authenticate_request(
        _challenge_401(_url("a/b"), again), {"Authorization": "Bearer t2"}
    )
    assert not changed and session.count == count


def test_a_second_worker_refused_with_the_same_token_does_not_ask_again() -> None:
    session = FakeSession()
    backend = _challenged(session)
    wider = BEARER + ',scope="repository:other/x:pull",error="insufficient_scope"'
    headers, _ = backend.authenticate_request(
        _challenge_401(_url("a/b"), wider), {"Authorization": "Bearer t1"}
    )
    count = session.count
    again = BEARER + ',scope="repository:a/b:pull",error="insufficient_scope"'
    # Two workers sent the same token and were both refused: the first drops it from the
    # cache, the second must still know what it was asked for.
    for _ in range(2):
        _, changed = backend.authenticate_request(
            _challenge_401(_url("a/b"), again), {"Authorization": headers["Authorization"]}
        )
        assert not changed
    assert session.count == count


@pytest.mark.parametrize(
    "body, expected",
    [
        ({"token": "T"}, "T"),
        ({"access_token": "A"}, "A"),
        ({"token": "T", "access_token": "A"}, "A"),
    ],
)
def test_token_or_access_token(body: dict, expected: str) -> None:
    session = FakeSession(lambda *a: _response(200, body))
    backend = _challenged(session)
    assert backend.auth_headers("GET", _url("a/b")) == {"Authorization": f"Bearer {expected}"}


@pytest.mark.parametrize(
    "body, message",
    [
        (b"x" * (token_module.MAX_TOKEN_RESPONSE + 1), "larger than"),
        (b"<html>", "not JSON"),
        (b'{"expires_in": 30}', "holds no token"),
    ],
)
def test_bad_token_responses_are_refused(body: bytes, message: str) -> None:
    backend = _backend(FakeSession(lambda *a: _response(200, body)))
    with pytest.raises(ProtocolError, match=message):
        backend.authenticate_request(_challenge_401(_url("a/b")), {})


def test_get_with_basic_and_post_password_grant_when_get_is_refused() -> None:
    def reply(method: str, url: str, fields: dict, auth: Any) -> requests.Response:
        if method == "GET":
            return _response(405)
        return _response(200, {"access_token": "P"})

    session = FakeSession(reply)
    backend = _backend(session)
    backend.set_basic_auth("me", "pw")
    headers, _ = backend.authenticate_request(_challenge_401(_url("a/b")), {})
    assert headers["Authorization"] == "Bearer P"
    get, post = session.calls
    assert get["auth"] == ("me", "pw") and get["fields"]["service"] == ["svc"]
    assert post["fields"]["grant_type"] == ["password"]
    assert post["fields"]["username"] == ["me"] and post["fields"]["password"] == ["pw"]
    assert post["fields"]["client_id"] == [token_module.CLIENT_ID]


def test_identity_token_uses_the_refresh_grant_and_reports_a_refused_post() -> None:
    session = FakeSession(lambda *a: _response(200, {"access_token": "R"}))
    backend = _backend(session)
    backend.set_identity_token("refresh-1")
    backend.authenticate_request(_challenge_401(_url("a/b")), {})
    [post] = session.calls
    assert post["method"] == "POST" and post["fields"]["grant_type"] == ["refresh_token"]
    assert post["fields"]["refresh_token"] == ["refresh-1"]

    refusing = _backend(FakeSession(lambda *a: _response(405)))
    refusing.set_identity_token("refresh-1")
    with pytest.raises(AuthenticationError, match="does not accept the OAuth2 POST") as info:
        refusing.authenticate_request(_challenge_401(_url("a/b")), {})
    assert "refresh-1" not in str(info.value)


def test_wrong_password_is_one_token_request_and_a_clear_error() -> None:
    session = FakeSession(lambda *a: _response(401))
    backend = _backend(session)
    backend.set_basic_auth("me", "wrong-pw")
    with pytest.raises(AuthenticationError, match="refused user 'me'") as info:
        backend.authenticate_request(_challenge_401(_url("a/b")), {})
    assert len(session.calls) == 1 and "wrong-pw" not in str(info.value)


def test_realm_is_validated() -> None:
    for realm, message in [
        ("http://auth.example/token", "plain HTTP"),
        ("https://user:pw@auth.example/token", "credentials in its URL"),
        ("ftp://auth.example/token", "not an http"),
    ]:
        session = FakeSession()
        backend = _backend(session)
        with pytest.raises(ProtocolError, match=message):
            backend.authenticate_request(
                _challenge_401(_url("a/b"), f'Bearer realm="{realm}",service="svc"'), {}
            )
        assert session.calls == []


def test_nothing_goes_to_a_host_the_backend_does_not_work_for() -> None:
    session = FakeSession()
    backend = _challenged(session)
    backend.set_basic_auth("me", "pw")
    backend.set_token_auth("explicit")
    foreign = "https://storage.example/upload/1"
    assert backend.auth_headers("PUT", foreign) == {}
    assert backend.get_auth_header() == {"Authorization": "Bearer explicit"}  # oras-py surface
    # a foreign host that challenges us is not answered at all
    calls = len(session.calls)
    for header in ('Basic realm="x"', BEARER):
        assert backend.authenticate_request(_challenge_401(foreign, header), {}) == ({}, False)
    assert len(session.calls) == calls
    # the registry itself gets the explicit token before any challenge of its own
    fresh = _backend(FakeSession())
    fresh.set_token_auth("explicit")
    assert fresh.auth_headers("GET", _url("a/b")) == {"Authorization": "Bearer explicit"}
    assert fresh.auth_headers("GET", foreign) == {}


def test_basic_challenge_gets_basic_only_on_that_host() -> None:
    backend = _backend(FakeSession())
    backend.set_basic_auth("me", "pw")
    headers, changed = backend.authenticate_request(
        _challenge_401(_url("a/b"), 'Basic realm="r"'), {}
    )
    assert changed and headers["Authorization"].startswith("Basic ")
    assert backend.auth_headers("GET", _url("c/d")) == headers
    assert backend.auth_headers("GET", "https://other.example/v2/") == {}
    # the same credentials again cannot help: no retry
    assert backend.authenticate_request(
        _challenge_401(_url("a/b"), 'Basic realm="r"'), headers
    ) == (headers, False)


def test_basic_backend_sends_credentials_to_registry_hosts_only() -> None:
    backend = BasicAuth(session=FakeSession())
    backend.load_configs(f"{REGISTRY}/a/b:v1")
    backend.set_basic_auth("me", "pw")
    assert backend.auth_headers("GET", _url("a/b"))["Authorization"].startswith("Basic ")
    assert backend.auth_headers("PUT", "https://storage.example/u/1") == {}


def test_bare_backend_answers_the_first_host_that_challenges() -> None:
    """oras-py users call do_request without load_configs: that host becomes the registry."""
    backend = TokenAuth(session=FakeSession())
    backend.set_basic_auth("me", "pw")
    headers, changed = backend.authenticate_request(
        _challenge_401(_url("a/b"), 'Basic realm="r"'), {}
    )
    assert changed and headers["Authorization"].startswith("Basic ")
    assert parse_qs(urlsplit(_url("a/b")).query) == {}


def test_docker_hub_scopes_asked_up_front_reach_its_api_host() -> None:
    session = FakeSession()
    backend = TokenAuth(session=session)
    backend.load_configs("docker.io/library/x:v1")
    backend.want_scope("docker.io", "library/x", ["pull", "push"])
    url = "https://registry-1.docker.io/v2/library/x/blobs/sha256:0"
    backend.authenticate_request(_challenge_401(url, method="HEAD"), {})
    assert session.scopes() == ["repository:library/x:pull,push"]


def test_backend_takes_a_name_a_reference_or_a_container() -> None:
    """The backend parses strings itself (core references) and reads `.registry` of what oras-py
    callers pass, its `Container` included, without depending on oras.container."""
    from oras.container import Container

    backend = TokenAuth(session=FakeSession())
    parsed = backend.get_container("localhost:5000/a/b:v1")
    assert parsed == parse_reference("localhost:5000/a/b:v1")
    container = Container(f"{REGISTRY}/a/b:v1")
    assert backend.get_container(container) is container
    reference = parse_reference("other.example/c:v2")
    assert backend.get_container(reference) is reference
    for bad in ("localhost:5000", None):
        with pytest.raises(InvalidReferenceError):
            backend.get_container(bad)

    backend.load_configs(container)
    backend.load_configs(reference)
    backend.load_configs("localhost:5000/a/b:v1")
    for host in (REGISTRY, "other.example", "localhost:5000", "127.0.0.1:5000"):
        assert backend.is_registry_host(host), host


def _users(backend: TokenAuth) -> int:
    """Threads holding or waiting for a token fetch's lock."""
    return sum(users for _, users in backend._fetching._locks.values())


def test_a_bad_token_answer_is_shared_by_waiting_workers_and_remembered(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    release = threading.Event()
    entered = threading.Event()

    def not_json(*args: Any) -> requests.Response:
        entered.set()
        release.wait(10)
        return _response(200, b"<html>")

    session = FakeSession(not_json)
    backend = _backend(session)
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            backend.authenticate_request(_challenge_401(_url("a/b")), {})
        except ProtocolError as e:
            errors.append(e)

    first = threading.Thread(target=worker)
    first.start()
    assert entered.wait(10)
    waiting = [threading.Thread(target=worker) for _ in range(3)]
    for thread in waiting:
        thread.start()
    deadline = time.monotonic() + 10
    while _users(backend) < 4 and time.monotonic() < deadline:  # the three wait for the fetch
        time.sleep(0.01)
    assert _users(backend) == 4
    release.set()
    for thread in [first, *waiting]:
        thread.join(10)
    assert len(errors) == 4 and all("not JSON" in str(e) for e in errors)
    assert len(session.calls) == 1  # the waiters did not ask again
    # A request about to go out does not ask either; its 401 gets the same error.
    assert backend.auth_headers("HEAD", _url("a/b", "blobs/sha256:" + "0" * 64)) == {}
    with pytest.raises(ProtocolError, match="not JSON"):
        backend.authenticate_request(_challenge_401(_url("a/b")), {})
    assert len(session.calls) == 1
    monkeypatch.setattr(token_module, "REFUSAL_MEMORY", 0.0)  # once forgotten, it asks again
    with pytest.raises(ProtocolError, match="not JSON"):
        backend.authenticate_request(_challenge_401(_url("a/b")), {})
    assert len(session.calls) == 2
