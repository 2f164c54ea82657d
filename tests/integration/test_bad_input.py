"""Mistakes a new user makes, against the real registry: each is refused before anything is
sent, with one clear error (CLI) or a typed exception (library)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import requests

import oras.client
from oras.errors import (
    ArgumentError,
    InvalidFileNameError,
    InvalidManifestError,
    InvalidPathError,
    InvalidReferenceError,
    RegistryConnectionError,
    TLSError,
)
from tests.conftest import CliRunner
from tests.harness.proxy import FaultProxy
from tests.harness.registry import RegistryServer, free_port

TIMEOUT = 10


def _manifest_status(registry: RegistryServer, repo: str, ref: str) -> int:
    url = f"{registry.url}/v2/{repo}/manifests/{ref}"
    return requests.head(url, timeout=TIMEOUT).status_code


def _error_lines(result) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.startswith("Error:")]


# -- item 1: a reference without a repository ------------------------------------------------------


@pytest.mark.parametrize("command", ["push", "pull"])
def test_cli_refuses_a_registry_without_repository(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, command: str
) -> None:
    """`push localhost:PORT hello.txt` once pushed to repository `localhost`, tag PORT."""
    (tmp_path / "hello.txt").write_text("hello\n")
    target = f"localhost:{registry.port}"
    args = [command, target] + (["hello.txt"] if command == "push" else [])
    result = oras_cli(*args)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = _error_lines(result)
    assert "no repository" in line
    assert result.stdout == ""
    assert _manifest_status(registry, "localhost", str(registry.port)) == 404


def test_cli_refuses_a_reference_without_registry(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path
) -> None:
    """Go `oras` reads the first component as the registry; `dinosaur` is not a host."""
    (tmp_path / "hello.txt").write_text("hello\n")
    result = oras_cli("push", "dinosaur/artifact:v1", "hello.txt")
    assert result.returncode == 1, (result.stdout, result.stderr)
    [line] = _error_lines(result)
    assert "missing registry" in line
    assert "cannot connect" not in line


def test_library_refuses_a_registry_without_repository(
    registry: RegistryServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hello.txt").write_text("hello\n")
    client = oras.client.OrasClient(hostname=registry.host, insecure=True)
    with pytest.raises(InvalidReferenceError) as info:
        client.push(registry.host, files=["hello.txt"])
    assert isinstance(info.value, ValueError)
    assert "no repository" in str(info.value.hint)
    with pytest.raises(InvalidReferenceError):
        client.pull(registry.host, outdir=str(tmp_path / "out"))
    assert _manifest_status(registry, "127.0.0.1", str(registry.port)) == 404


# -- item 12: hints ---------------------------------------------------------------------------------

SHAPE = "<registry>/<repository>[:<tag>|@<digest>]"


@pytest.mark.parametrize(
    "path,reason",
    [
        ("Dinosaur/artifact:v1", "repository 'Dinosaur/artifact' must be lowercase"),
        ("dinosaur/artifact:bad@tag", "invalid digest"),
        ("dinosaur//artifact", "empty path component"),
    ],
)
def test_cli_bad_reference_says_what_is_wrong_once(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, path: str, reason: str
) -> None:
    (tmp_path / "hello.txt").write_text("hello\n")
    target = f"localhost:{registry.port}/{path}"
    for args in (("push", target, "hello.txt"), ("pull", target)):
        result = oras_cli(*args)
        assert result.returncode == 1, (result.stdout, result.stderr)
        [line] = _error_lines(result)
        assert line.count(reason) == 1, line
        assert line.count(SHAPE) == 1, line
        assert line.count(target) == 1, line
        assert f"for example localhost:{registry.port}/dinosaur/artifact:v1" in line
        assert "does not match a recognized" not in line


def test_cli_long_tag_is_not_echoed_in_full(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path
) -> None:
    (tmp_path / "hello.txt").write_text("hello\n")
    target = f"localhost:{registry.port}/dinosaur/artifact:{'x' * 300}"
    result = oras_cli("push", target, "hello.txt")
    assert result.returncode == 1
    [line] = _error_lines(result)
    assert "300 characters long" in line
    assert "x" * 100 not in line
    assert len(result.stderr) < 350, result.stderr


@pytest.mark.parametrize(
    "args,command",
    [
        (["pull", "{host}/dinosaur/artifact:v1", "extra"], "pull"),
        (["push", "{host}/dinosaur/artifact:v1", "hello.txt", "--concurrency", "0"], "push"),
        # No files: image-spec v1.1 pushes an empty artifact; v1.0 has no such thing.
        (["push", "{host}/dinosaur/artifact:v1", "--image-spec", "v1.0"], "push"),
        (["login", "{host}", "--cert-file", "c.pem"], "login"),
    ],
)
def test_cli_usage_error_names_the_command_help(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, args: list[str], command: str
) -> None:
    host = f"localhost:{registry.port}"
    result = oras_cli(*(a.format(host=host) for a in args))
    assert result.returncode == 2, (result.stdout, result.stderr)
    lines = result.stderr.splitlines()
    assert len(lines) == 2 and lines[0].startswith("Error: "), result.stderr
    assert lines[1] == f"Run 'oras-py {command} --help' for usage."


# -- item 10 (and the `'str' object has no attribute 'get'` of item 9): typed library errors -------


def test_library_down_registry_is_a_typed_connection_error(tmp_path: Path) -> None:
    host = f"127.0.0.1:{free_port()}"
    client = oras.client.OrasClient(insecure=True)
    for call in (
        lambda: client.pull(f"{host}/dinosaur/artifact:v1", outdir=str(tmp_path)),
        lambda: client.get_tags(f"{host}/dinosaur/artifact"),
        lambda: client.login(username="u", password="p", hostname=host),
    ):
        with pytest.raises(RegistryConnectionError) as info:
            call()
        # oras-py raised requests' ConnectionError: code catching that still does.
        assert isinstance(info.value, requests.exceptions.ConnectionError)
        assert str(info.value).startswith(f"cannot connect to {host}: ")
        assert "refused" in str(info.value)
        assert info.value.hint


def test_library_tls_failure_is_a_typed_tls_error(registry: RegistryServer, tmp_path: Path) -> None:
    """HTTPS to a plain-HTTP registry: oras-py raised requests' SSLError."""
    client = oras.client.OrasClient()
    with pytest.raises(TLSError) as info:
        client.pull(f"{registry.host}/dinosaur/artifact:v1", outdir=str(tmp_path))
    assert isinstance(info.value, requests.exceptions.SSLError)
    assert isinstance(info.value, RegistryConnectionError)
    assert str(info.value).startswith(f"TLS failure talking to {registry.host}: ")
    assert "tls_verify" in str(info.value.hint)


def test_library_target_none_is_an_invalid_reference(tmp_path: Path) -> None:
    """oras-py raised TypeError from its regex."""
    client = oras.client.OrasClient(insecure=True)
    with pytest.raises(InvalidReferenceError) as info:
        client.pull(target=None, outdir=str(tmp_path))  # type: ignore[arg-type]
    assert info.value.hint == "a reference is a string, not NoneType"
    with pytest.raises(InvalidReferenceError):
        client.push(target=None, files=["x"])  # type: ignore[arg-type]


_LAYER_DIGEST = "sha256:" + "ab" * 32
_MALFORMED = {
    "layers-string": ({"layers": "abc"}, "layers is a string, not an array"),
    "layer-string": ({"layers": ["abc"]}, "layers[0] is a string, not an object"),
    "title-number": (
        {
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": _LAYER_DIGEST,
                    "size": 3,
                    "annotations": {"org.opencontainers.image.title": 5},
                }
            ]
        },
        "has annotation 'org.opencontainers.image.title' that is a number",
    ),
}


def _serve_malformed(fault_proxy: FaultProxy, repo: str, fields: dict) -> str:
    """The proxy answers the manifest GET with `fields` (which Distribution would refuse)."""
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.unknown.config.v1+json",
            "digest": "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a",
            "size": 2,
        },
        **fields,
    }
    body = json.dumps(manifest).encode()
    headers = {"Content-Type": manifest["mediaType"], "Content-Length": str(len(body))}
    fault_proxy.fail("GET", rf"^/v2/{repo}/manifests/v1$", 200, headers=headers, body=body)
    return f"{fault_proxy.host}/{repo}:v1"


@pytest.mark.parametrize("case", sorted(_MALFORMED))
def test_library_malformed_manifest_is_a_typed_error(
    fault_proxy: FaultProxy, unique_repo: str, tmp_path: Path, case: str
) -> None:
    fields, problem = _MALFORMED[case]
    target = _serve_malformed(fault_proxy, unique_repo, fields)
    with pytest.raises(InvalidManifestError) as info:
        oras.client.OrasClient(insecure=True).pull(target, outdir=str(tmp_path / "out"))
    assert isinstance(info.value, ValueError)
    assert str(info.value).startswith(f"manifest {target} is malformed: ")
    assert problem in str(info.value)
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("output", ["out", "-"])
def test_cli_malformed_manifest_is_one_line(
    oras_cli: CliRunner, fault_proxy: FaultProxy, unique_repo: str, output: str
) -> None:
    target = _serve_malformed(fault_proxy, unique_repo, {"layers": "abc"})
    result = oras_cli("pull", "--plain-http", target, "-o", output)
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    [line] = _error_lines(result)
    assert "is malformed: layers is a string, not an array" in line, line
    assert "has no attribute" not in line


# -- item 11: push and pull arguments ---------------------------------------------------------------


@pytest.fixture
def hello(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "hello.txt"
    path.write_text("hello\n")
    return path


def _layers(registry: RegistryServer, repo: str, tag: str) -> list[dict]:
    response = requests.get(
        f"{registry.url}/v2/{repo}/manifests/{tag}",
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()["layers"]


def test_push_accepts_a_single_path(registry: RegistryServer, hello: Path, unique_repo: str):
    """oras-py iterated the string's characters: `h does not exist`."""
    client = oras.client.OrasClient(insecure=True)
    client.push(f"{registry.host}/{unique_repo}:v1", files="hello.txt")
    client.push(f"{registry.host}/{unique_repo}:v2", files=hello)  # a PathLike too
    for tag in ("v1", "v2"):
        [layer] = _layers(registry, unique_repo, tag)
        assert layer["annotations"]["org.opencontainers.image.title"] == "hello.txt"
        assert layer["size"] == 6


@pytest.mark.parametrize("files", [[], None, ()])
def test_push_without_files_is_refused_unless_asked(
    registry: RegistryServer, hello: Path, unique_repo: str, files
) -> None:
    client = oras.client.OrasClient(insecure=True)
    target = f"{registry.host}/{unique_repo}:v1"
    with pytest.raises(ArgumentError, match="push needs at least one file") as info:
        client.push(target, files=files)
    assert isinstance(info.value, ValueError)
    assert _manifest_status(registry, unique_repo, "v1") == 404
    assert client.push(target, files=files, allow_empty=True).status_code == 201
    assert _layers(registry, unique_repo, "v1") == []


@pytest.mark.parametrize("concurrency", [0, -1])
def test_concurrency_below_one_is_refused(
    registry: RegistryServer, hello: Path, unique_repo: str, concurrency: int
) -> None:
    client = oras.client.OrasClient(insecure=True)
    target = f"{registry.host}/{unique_repo}:v1"
    with pytest.raises(ArgumentError, match=f"concurrency must be at least 1, not {concurrency}"):
        client.push(target, files=["hello.txt"], concurrency=concurrency)
    assert _manifest_status(registry, unique_repo, "v1") == 404
    client.push(target, files=["hello.txt"])
    with pytest.raises(ArgumentError, match="concurrency must be at least 1"):
        client.pull(target, outdir="out", concurrency=concurrency)
    assert not (hello.parent / "out").exists()


def test_unknown_keywords_are_a_type_error(
    registry: RegistryServer, hello: Path, unique_repo: str
) -> None:
    """oras-py ignored them: a typo (`ouptut=`, `tls_verfy=`) silently did nothing."""
    client = oras.client.OrasClient(insecure=True)
    target = f"{registry.host}/{unique_repo}:v1"
    with pytest.raises(TypeError, match=r"^push\(\) got an unexpected keyword argument 'ouptut'"):
        client.push(target, files=["hello.txt"], ouptut="x")
    assert _manifest_status(registry, unique_repo, "v1") == 404
    with pytest.raises(TypeError, match=r"^pull\(\) got unexpected keyword arguments 'a', 'b'"):
        client.pull(target, b=1, a=2)
    with pytest.raises(TypeError, match="'tls_verfy'"):
        oras.client.OrasClient(tls_verfy=False)
    with pytest.raises(TypeError, match=r"^login\(\) got an unexpected keyword argument 'pasword'"):
        client.login(username="u", pasword="p", hostname=registry.host)


def test_documented_legacy_keywords_are_accepted(
    registry: RegistryServer, hello: Path, unique_repo: str
) -> None:
    """oras-py 0.0.x/0.1.x push and pull took `**kwargs`; code passing these still runs."""
    client = oras.client.OrasClient(insecure=True)
    target = f"{registry.host}/{unique_repo}:v1"
    legacy = {"refresh_headers": True, "username": None, "password": None, "insecure": True}
    assert client.push(target, files=["hello.txt"], **legacy).status_code == 201
    pulled = client.pull(target, outdir="out", manifest_config_ref=None, **legacy)
    assert [Path(p).name for p in pulled] == ["hello.txt"]


# -- item 9: `embedded null byte` -------------------------------------------------------------------


EMPTY_CONFIG_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def _push_titled(registry: RegistryServer, repo: str, title: str) -> str:
    """A one-layer manifest whose title the registry stores as given (Distribution keeps NULs)."""
    data = b"hello\n"
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    with requests.Session() as session:
        for blob, blob_digest in ((data, digest), (b"{}", EMPTY_CONFIG_DIGEST)):
            start = session.post(f"{registry.url}/v2/{repo}/blobs/uploads/", timeout=TIMEOUT)
            location = start.headers["Location"]
            put = session.put(
                f"{location}{'&' if '?' in location else '?'}digest={blob_digest}",
                data=blob,
                headers={"Content-Type": "application/octet-stream"},
                timeout=TIMEOUT,
            )
            assert put.status_code == 201, put.text
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {
                "mediaType": "application/vnd.unknown.config.v1+json",
                "digest": EMPTY_CONFIG_DIGEST,
                "size": 2,
            },
            "layers": [
                {
                    "mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": digest,
                    "size": len(data),
                    "annotations": {"org.opencontainers.image.title": title},
                }
            ],
        }
        put = session.put(
            f"{registry.url}/v2/{repo}/manifests/v1",
            data=json.dumps(manifest),
            headers={"Content-Type": manifest["mediaType"]},
            timeout=TIMEOUT,
        )
        assert put.status_code == 201, put.text
    return f"{registry.host}/{repo}:v1"


def test_library_nul_in_a_pulled_title_is_a_typed_error(
    registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    target = _push_titled(registry, unique_repo, "a\x00b.txt")
    # Titles are checked as file names before anything is written (oras.filenames).
    with pytest.raises(InvalidFileNameError) as info:
        oras.client.OrasClient(insecure=True).pull(target, outdir=str(tmp_path / "out"))
    assert isinstance(info.value, ValueError)
    assert "a\\x00b.txt" in str(info.value) and "NUL byte" in str(info.value)
    assert not (tmp_path / "out").exists()  # refused before the output directory is made


def test_cli_nul_in_a_pulled_title_is_one_line(
    oras_cli: CliRunner, registry: RegistryServer, unique_repo: str, tmp_path: Path
) -> None:
    target = _push_titled(registry, unique_repo, "a\x00b.txt")
    result = oras_cli("pull", "--plain-http", target, "-o", "out")
    assert result.returncode == 1, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert "\x00" not in result.stderr + result.stdout
    [line] = _error_lines(result)
    assert "a\\x00b.txt" in line, line
    assert "embedded null byte" not in line
    assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []


def test_library_nul_in_a_path_or_reference_is_a_typed_error(
    registry: RegistryServer, hello: Path, unique_repo: str
) -> None:
    client = oras.client.OrasClient(insecure=True)
    target = f"{registry.host}/{unique_repo}:v1"
    calls = {
        "file 'hel\\x00lo.txt'": lambda: client.push(target, files=["hel\x00lo.txt"]),
        "annotation file 'a\\x00.json'": lambda: client.push(
            target, files=["hello.txt"], annotation_file="a\x00.json"
        ),
        "config file 'c\\x00.json'": lambda: client.push(
            target, files=["hello.txt"], manifest_config="c\x00.json:application/x"
        ),
    }
    for name, call in calls.items():
        with pytest.raises(InvalidPathError) as info:
            call()
        assert str(info.value).startswith(f"{name} contains a NUL byte"), str(info.value)
    assert _manifest_status(registry, unique_repo, "v1") == 404
    client.push(target, files=["hello.txt"])
    with pytest.raises(InvalidPathError, match=r"directory '.*o\\x00ut' contains a NUL byte"):
        client.pull(target, outdir="o\x00ut")
    with pytest.raises(InvalidReferenceError) as info:
        client.pull(f"{registry.host}/{unique_repo}\x00:v1", outdir="out")
    assert info.value.hint == "it contains a NUL byte ('\\x00')"
    assert "\x00" not in str(info.value)
