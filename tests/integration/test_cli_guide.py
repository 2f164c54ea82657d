"""Every command-line example of the user guide, run with the guide's own arguments.

The guide's registry is plain HTTP on `localhost:5000` (with or without htpasswd); here it is
`localhost:<port>` of a fixture registry. `localhost` defaults to plain HTTP in the CLI, which is
what makes the guide's first push (without `--insecure`) work.
"""

from __future__ import annotations

import base64
import json
import platform
import re
import stat
import subprocess
from pathlib import Path
from typing import Any, Optional

import pytest
import requests

from tests.conftest import CliRunner
from tests.harness.registry import RegistryServer, free_port

TIMEOUT = 10
GUIDE_REPO = "dinosaur/artifact"
GUIDE_TAG = "v1"
ARTIFACT_TEXT = "hello dinosaur\n"
ARTIFACT_DIGEST = "sha256:07f469745bff59a6956b1394bfb4c77196c9dbc9950ff1a9e6143798edf9856f"
EMPTY_DIGEST = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
CONFIG_ARG = "/dev/null:application/vnd.acme.rocket.config"
CONFIG_TYPE = "application/vnd.acme.rocket.config"
MANIFEST_TYPE = "application/vnd.oci.image.manifest.v1+json"
TITLE = "org.opencontainers.image.title"
PASSWORD_WARNING = "WARNING! Using --password via the CLI is insecure. Use --password-stdin."
# A password that only ever appears on the command line: it must never be echoed back.
SECRET = "s3cret-Pa55word-never-printed"

# A valid JSON version of the guide's annotation sample (which uses Python set syntax).
GUIDE_ANNOTATIONS = {
    "$manifest": {"manifest_annotation_key": "manifest_annotation_value"},
    "$config": {"config_annotation_key": "config_annotation_value"},
    "artifact.txt": {"blob_annotation_key": "blob_annotation_value"},
}


# -- helpers --------------------------------------------------------------------------------------


def localhost(registry: RegistryServer) -> str:
    """The guide's `localhost:5000`, pointing at the fixture registry."""
    return f"localhost:{registry.port}"


def guide_target(registry: RegistryServer, repo: str = GUIDE_REPO) -> str:
    return f"{localhost(registry)}/{repo}:{GUIDE_TAG}"


def write_artifact(directory: Path) -> Path:
    """`echo "hello dinosaur" > artifact.txt`."""
    path = directory / "artifact.txt"
    path.write_text(ARTIFACT_TEXT)
    return path


def fetch_manifest(
    registry: RegistryServer, repo: str, tag: str = GUIDE_TAG, auth: Optional[tuple] = None
) -> dict[str, Any]:
    """GET the manifest straight from the registry, bypassing the code under test."""
    response = requests.get(
        f"{registry.url}/v2/{repo}/manifests/{tag}",
        headers={"Accept": MANIFEST_TYPE},
        auth=auth,
        timeout=TIMEOUT,
    )
    assert response.status_code == 200, response.text
    return response.json()


def registry_auth(registry: RegistryServer) -> Optional[tuple[str, str]]:
    if registry.username is None or registry.password is None:
        return None
    return (registry.username, registry.password)


def assert_guide_manifest(manifest: dict[str, Any]) -> None:
    """The manifest the guide's push produces: empty rocket config, one titled 15-byte layer."""
    assert manifest["schemaVersion"] == 2
    assert manifest.get("mediaType", MANIFEST_TYPE) == MANIFEST_TYPE
    config = manifest["config"]
    assert config["mediaType"] == CONFIG_TYPE
    assert config["size"] == 0
    assert config["digest"] == EMPTY_DIGEST
    [layer] = manifest["layers"]
    assert layer["annotations"][TITLE] == "artifact.txt"
    assert layer["size"] == 15
    assert layer["digest"] == ARTIFACT_DIGEST


def stderr_lines(result: subprocess.CompletedProcess[str]) -> list[str]:
    return [line for line in result.stderr.splitlines() if line.strip()]


def assert_clean_failure(
    result: subprocess.CompletedProcess[str], code: int = 1, secret: str = SECRET
) -> str:
    """Exit `code`, exactly one `Error:` line, no traceback, no secret; returns that line."""
    assert result.returncode == code, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert secret not in result.stderr and secret not in result.stdout
    errors = [line for line in stderr_lines(result) if line.startswith("Error:")]
    assert len(errors) == 1, result.stderr
    # Status lines of blobs in flight (`Uploading <digest> <name>`) may precede the error.
    status = re.compile(r"^(Uploading|Uploaded|Exists|Skipped|Downloading|Downloaded) ")
    others = [
        line for line in stderr_lines(result) if line not in errors and not status.match(line)
    ]
    assert others in ([], [PASSWORD_WARNING]), result.stderr
    return errors[0]


def docker_config(docker_config_dir: Path) -> dict[str, Any]:
    path = docker_config_dir / "config.json"
    if not path.exists():
        return {}
    return json.loads(path.read_text())


def cli_push(
    oras_cli: CliRunner, target: str, *extra: str, cwd: Path
) -> subprocess.CompletedProcess[str]:
    """The guide's push of ./artifact.txt with the empty rocket config, plus `extra` flags."""
    return oras_cli(
        "push", target, *extra, "--manifest-config", CONFIG_ARG, "./artifact.txt", cwd=cwd
    )


# -- login / logout -------------------------------------------------------------------------------


def test_login_with_password_flag(
    oras_cli: CliRunner, basic_registry: RegistryServer, docker_config_dir: Path
) -> None:
    host = localhost(basic_registry)
    result = oras_cli("login", "-u", "myuser", "-p", "mypass", host)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Login Succeeded\n"
    assert PASSWORD_WARNING in result.stderr.splitlines()
    assert "Traceback" not in result.stderr

    config_path = docker_config_dir / "config.json"
    assert stat.S_IMODE(config_path.stat().st_mode) == 0o600
    entry = json.loads(config_path.read_text())["auths"][host]
    assert base64.b64decode(entry["auth"]).decode() == "myuser:mypass"


def test_login_insecure_with_k_alias(
    oras_cli: CliRunner, basic_registry: RegistryServer, docker_config_dir: Path
) -> None:
    host = localhost(basic_registry)
    result = oras_cli("login", "-u", "myuser", "-p", "mypass", "-k", host, "--insecure")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Login Succeeded\n"
    assert PASSWORD_WARNING in result.stderr.splitlines()
    entry = docker_config(docker_config_dir)["auths"][host]
    assert base64.b64decode(entry["auth"]).decode() == "myuser:mypass"


def test_login_interactive_prompts(
    oras_cli: CliRunner, basic_registry: RegistryServer, docker_config_dir: Path
) -> None:
    host = localhost(basic_registry)
    result = oras_cli("login", "-k", host, "--insecure", input="myuser\nmypass\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Login Succeeded\n"
    prompts = result.stdout + result.stderr
    assert "Username: " in prompts
    assert "Password: " in prompts
    assert prompts.index("Username: ") < prompts.index("Password: ")
    assert "mypass" not in prompts
    # No password was typed on the command line, so no warning about it.
    assert PASSWORD_WARNING not in result.stderr
    entry = docker_config(docker_config_dir)["auths"][host]
    assert base64.b64decode(entry["auth"]).decode() == "myuser:mypass"


def test_login_password_stdin(
    oras_cli: CliRunner, basic_registry: RegistryServer, docker_config_dir: Path
) -> None:
    host = localhost(basic_registry)
    result = oras_cli(
        "login", "-u", "myuser", "-k", host, "--insecure", "--password-stdin", input="mypass\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Login Succeeded\n"
    assert PASSWORD_WARNING not in result.stderr
    assert "Password: " not in result.stderr
    entry = docker_config(docker_config_dir)["auths"][host]
    assert base64.b64decode(entry["auth"]).decode() == "myuser:mypass"


@pytest.mark.parametrize("via_stdin", [False, True], ids=["password-flag", "password-stdin"])
def test_login_wrong_password_fails_cleanly(
    oras_cli: CliRunner,
    basic_registry: RegistryServer,
    docker_config_dir: Path,
    via_stdin: bool,
) -> None:
    host = localhost(basic_registry)
    if via_stdin:
        result = oras_cli("login", "-u", "myuser", "--password-stdin", host, input=SECRET + "\n")
    else:
        result = oras_cli("login", "-u", "myuser", "-p", SECRET, host)
    assert_clean_failure(result)
    assert "Login Succeeded" not in result.stdout + result.stderr
    assert host not in docker_config(docker_config_dir).get("auths", {})


def test_login_to_registry_without_auth(oras_cli: CliRunner, registry: RegistryServer) -> None:
    result = oras_cli("login", "-u", "myuser", "-p", "mypass", localhost(registry))
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Login Succeeded\n"
    assert "Traceback" not in result.stderr


def test_saved_credentials_push_pull_then_logout(
    oras_cli: CliRunner,
    basic_registry: RegistryServer,
    docker_config_dir: Path,
    tmp_path: Path,
    unique_repo: str,
) -> None:
    host = localhost(basic_registry)
    target = guide_target(basic_registry, unique_repo)
    write_artifact(tmp_path)

    login = oras_cli("login", "-u", "myuser", "-p", "mypass", host)
    assert login.returncode == 0, login.stderr

    pushed = cli_push(oras_cli, target, cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout == f"Successfully pushed {target}\n"
    assert_guide_manifest(
        fetch_manifest(basic_registry, unique_repo, auth=registry_auth(basic_registry))
    )

    out = tmp_path / "pulled"
    pulled = oras_cli("pull", target, "-o", str(out))
    assert pulled.returncode == 0, pulled.stderr
    assert (out / "artifact.txt").read_text() == ARTIFACT_TEXT

    logout = oras_cli("logout", host)
    assert logout.returncode == 0, logout.stderr
    assert f"You have successfully logged out of {host}" in logout.stderr
    assert host not in docker_config(docker_config_dir).get("auths", {})

    again = oras_cli("logout", host)
    assert again.returncode == 0, again.stderr
    assert f"You are not logged in to {host}" in again.stderr

    refused = cli_push(oras_cli, target, cwd=tmp_path)
    line = assert_clean_failure(refused)
    assert re.search(r"auth|credential|unauthori", line, re.IGNORECASE), line
    assert "Successfully pushed" not in refused.stdout


def test_pull_without_credentials_fails_cleanly(
    oras_cli: CliRunner, basic_registry: RegistryServer, tmp_path: Path, unique_repo: str
) -> None:
    """Not logged in to the htpasswd registry: one error line about credentials, nothing written."""
    result = oras_cli("pull", guide_target(basic_registry, unique_repo))
    line = assert_clean_failure(result)
    assert re.search(r"auth|credential|unauthori", line, re.IGNORECASE), line
    assert list(tmp_path.iterdir()) == []


# -- push ---------------------------------------------------------------------------------------


def test_push_and_pull_guide_exact(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path
) -> None:
    """The guide's push and pull, verbatim, with `dinosaur/artifact:v1`."""
    target = guide_target(registry)
    artifact = write_artifact(tmp_path)

    pushed = cli_push(oras_cli, target, cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout == f"Successfully pushed {target}\n"
    assert "Traceback" not in pushed.stderr
    assert_guide_manifest(fetch_manifest(registry, GUIDE_REPO))

    artifact.unlink()  # rm -f artifact.txt
    pulled = oras_cli("pull", target, cwd=tmp_path)
    assert pulled.returncode == 0, pulled.stderr
    assert artifact.read_text() == ARTIFACT_TEXT
    assert f"Successfully pulled {artifact}." in pulled.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["artifact.txt"]


def test_push_insecure(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, unique_repo: str
) -> None:
    target = guide_target(registry, unique_repo)
    write_artifact(tmp_path)
    pushed = cli_push(oras_cli, target, "--insecure", cwd=tmp_path)
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout == f"Successfully pushed {target}\n"
    assert_guide_manifest(fetch_manifest(registry, unique_repo))


def test_push_annotation_file(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, unique_repo: str
) -> None:
    target = guide_target(registry, unique_repo)
    write_artifact(tmp_path)
    (tmp_path / "annotations.json").write_text(json.dumps(GUIDE_ANNOTATIONS))

    pushed = cli_push(
        oras_cli, target, "--insecure", "--annotation-file", "./annotations.json", cwd=tmp_path
    )
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout == f"Successfully pushed {target}\n"

    manifest = fetch_manifest(registry, unique_repo)
    assert_guide_manifest(manifest)
    assert manifest["annotations"]["manifest_annotation_key"] == "manifest_annotation_value"
    assert manifest["config"]["annotations"] == {"config_annotation_key": "config_annotation_value"}
    layer_annotations = manifest["layers"][0]["annotations"]
    assert layer_annotations["blob_annotation_key"] == "blob_annotation_value"
    assert layer_annotations[TITLE] == "artifact.txt"


def test_push_one_off_annotations(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, unique_repo: str
) -> None:
    target = guide_target(registry, unique_repo)
    write_artifact(tmp_path)
    pushed = cli_push(
        oras_cli,
        target,
        "--insecure",
        "--annotation",
        "key1=value1",
        "--annotation",
        "key2=value2",
        cwd=tmp_path,
    )
    assert pushed.returncode == 0, pushed.stderr
    assert pushed.stdout == f"Successfully pushed {target}\n"
    manifest = fetch_manifest(registry, unique_repo)
    assert_guide_manifest(manifest)
    assert manifest["annotations"]["key1"] == "value1"
    assert manifest["annotations"]["key2"] == "value2"


# -- pull -----------------------------------------------------------------------------------------


@pytest.fixture
def pushed_target(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, unique_repo: str
) -> str:
    """A guide-shaped artifact pushed to a fresh repository; the pushing dir is `tmp_path/src`."""
    source = tmp_path / "src"
    source.mkdir()
    write_artifact(source)
    target = guide_target(registry, unique_repo)
    pushed = cli_push(oras_cli, target, cwd=source)
    assert pushed.returncode == 0, pushed.stderr
    return target


def test_pull_output_dir(oras_cli: CliRunner, pushed_target: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    pulled = oras_cli("pull", pushed_target, "-o", "out", cwd=work)
    assert pulled.returncode == 0, pulled.stderr
    assert (work / "out" / "artifact.txt").read_text() == ARTIFACT_TEXT
    assert list(work.iterdir()) == [work / "out"]

    long_form = oras_cli("pull", pushed_target, "--output", str(tmp_path / "long"))
    assert long_form.returncode == 0, long_form.stderr
    assert (tmp_path / "long" / "artifact.txt").read_text() == ARTIFACT_TEXT


def test_pull_keep_old_files(oras_cli: CliRunner, pushed_target: str, tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()
    existing = work / "artifact.txt"
    existing.write_text("keep me\n")
    before = existing.stat().st_mtime_ns

    pulled = oras_cli("pull", pushed_target, "-k", cwd=work)
    assert pulled.returncode == 0, pulled.stderr
    assert existing.read_text() == "keep me\n"
    assert existing.stat().st_mtime_ns == before
    assert f"{existing} already exists and --keep-old-files set, will not overwrite." in (
        pulled.stderr
    )
    assert "Traceback" not in pulled.stderr

    overwritten = oras_cli("pull", pushed_target, cwd=work)
    assert overwritten.returncode == 0, overwritten.stderr
    assert existing.read_text() == ARTIFACT_TEXT


def test_pull_unknown_tag(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, unique_repo: str
) -> None:
    """Pulling before pushing: one error line naming the problem, no file written."""
    result = oras_cli("pull", guide_target(registry, unique_repo))
    line = assert_clean_failure(result)
    assert re.search(r"not found|unknown", line, re.IGNORECASE), line
    assert list(tmp_path.iterdir()) == []


# -- errors ---------------------------------------------------------------------------------------


def test_push_missing_file(oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path) -> None:
    result = oras_cli("push", guide_target(registry), "-u", "myuser", "-p", SECRET, "./missing.txt")
    line = assert_clean_failure(result)
    assert line.endswith("does not exist."), line
    assert "missing.txt" in line


@pytest.mark.parametrize("form", ["relative", "absolute"])
def test_push_file_outside_cwd(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, unique_repo: str, form: str
) -> None:
    work = tmp_path / "work"
    work.mkdir()
    outside = write_artifact(tmp_path)
    path = "../artifact.txt" if form == "relative" else str(outside)
    result = oras_cli(
        "push", guide_target(registry, unique_repo), "-p", SECRET, "-u", "myuser", path, cwd=work
    )
    line = assert_clean_failure(result)
    assert line.endswith("is not in the present working directory context."), line
    assert "Successfully pushed" not in result.stdout


def test_push_missing_annotation_file(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path
) -> None:
    write_artifact(tmp_path)
    result = cli_push(
        oras_cli, guide_target(registry), "--annotation-file", "./nope.json", cwd=tmp_path
    )
    line = assert_clean_failure(result)
    assert line == "Error: Annotation file ./nope.json does not exist.", line


def test_push_annotation_and_manifest_key_conflict(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, unique_repo: str
) -> None:
    write_artifact(tmp_path)
    (tmp_path / "annotations.json").write_text(json.dumps(GUIDE_ANNOTATIONS))
    result = cli_push(
        oras_cli,
        guide_target(registry, unique_repo),
        "--annotation-file",
        "./annotations.json",
        "--annotation",
        "key1=value1",
        cwd=tmp_path,
    )
    line = assert_clean_failure(result)
    assert line == (
        "Error: `--annotation` and `--annotation-file` with $manifest cannot be both specified."
    )


def test_push_annotation_without_equals(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path
) -> None:
    write_artifact(tmp_path)
    result = cli_push(oras_cli, guide_target(registry), "--annotation", "foo", cwd=tmp_path)
    line = assert_clean_failure(result)
    assert line == "Error: Annotation foo invalid format, needs to be key=value pair."


@pytest.mark.parametrize("command", ["push", "pull", "login"])
def test_unknown_flag_is_usage_error(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, command: str
) -> None:
    write_artifact(tmp_path)
    target = localhost(registry) if command == "login" else guide_target(registry)
    args = [command, target, "--no-such-flag"] + (["./artifact.txt"] if command == "push" else [])
    result = oras_cli(*args, "-p", SECRET)
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert SECRET not in result.stderr + result.stdout
    assert "--no-such-flag" in result.stderr


@pytest.mark.parametrize(
    "reference",
    [
        "{host}/Dinosaur/Artifact:v1",
        "{host}/dinosaur/artifact:bad@tag",
        "{host}/dinosaur//artifact",
    ],
)
def test_invalid_reference(
    oras_cli: CliRunner, registry: RegistryServer, tmp_path: Path, reference: str
) -> None:
    write_artifact(tmp_path)
    ref = reference.format(host=localhost(registry))
    for args in (("pull", ref), ("push", ref, "./artifact.txt")):
        result = oras_cli(*args, "-u", "myuser", "-p", SECRET)
        assert_clean_failure(result)
        assert not (tmp_path / "Dinosaur").exists()


@pytest.mark.parametrize("command", ["login", "push"])
def test_connection_refused(oras_cli: CliRunner, tmp_path: Path, command: str) -> None:
    """A port with nothing listening: one error line, whatever the retry layer did first."""
    write_artifact(tmp_path)
    host = f"localhost:{free_port()}"
    if command == "login":
        result = oras_cli("login", "-u", "myuser", "-p", SECRET, host)
    else:
        result = oras_cli("push", f"{host}/dinosaur/artifact:v1", "-p", SECRET, "./artifact.txt")
    line = assert_clean_failure(result)
    assert re.search(r"connect|refused", line, re.IGNORECASE), line
    assert result.stdout == ""


# -- version --------------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["version"], ["--version"]])
def test_version(oras_cli: CliRunner, args: list[str]) -> None:
    from oras.version import __version__

    result = oras_cli(*args)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Version: {__version__}"
    assert lines[1] == f"Python version: {platform.python_version()}"
    assert re.fullmatch(r"Python version: \d+\.\d+\.\d+", lines[1])
