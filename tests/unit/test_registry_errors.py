"""The typed error built from a registry's error answer (oras.remote.response)."""

from __future__ import annotations

import base64
import json

import pytest
import requests

from oras.remote.response import registry_error

PASSWORD = "s3cret-Passw0rd"
BASIC = "Basic " + base64.b64encode(f"user:{PASSWORD}".encode()).decode()


def _answer(status: int, message: str, authorization: str) -> requests.Response:
    request = requests.Request(
        "PUT",
        "http://registry.example/v2/r/blobs/uploads/1",
        headers={"Authorization": authorization},
    ).prepare()
    response = requests.Response()
    response.status_code = status
    response.url = request.url or ""
    response.request = request
    response._content = json.dumps({"errors": [{"code": "DENIED", "message": message}]}).encode()
    return response


@pytest.mark.parametrize(
    "quoted",
    [
        BASIC,
        BASIC.split()[1],
        f"user:{PASSWORD}",
        PASSWORD,
    ],
)
def test_a_quoted_basic_credential_is_hidden(quoted: str) -> None:
    error = registry_error(_answer(403, f"bad {quoted} here", BASIC), "uploading blob")
    assert PASSWORD not in str(error) and BASIC.split()[1] not in str(error)
    assert "DENIED: bad *** here" in str(error), str(error)


def test_a_quoted_bearer_token_is_hidden() -> None:
    error = registry_error(_answer(403, "token abc.def.ghi refused", "Bearer abc.def.ghi"))
    assert "abc.def.ghi" not in str(error) and "token *** refused" in str(error)


def test_a_message_without_the_credential_is_unchanged() -> None:
    error = registry_error(_answer(403, "push denied", BASIC), "uploading blob")
    assert str(error) == "uploading blob failed: HTTP 403 (DENIED: push denied)"
