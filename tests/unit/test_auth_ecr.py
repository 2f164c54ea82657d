"""Unit tests for EcrAuth: oras-py's class patterns and the per-realm token cache with `refresh=`."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest
import requests

from oras.auth.ecr import EcrAuth

REGION = "eu-west-1"
HOST = f"123456789012.dkr.ecr.{REGION}.amazonaws.com"
REALM = f"https://{HOST}/"
CHALLENGE = f'Bearer realm="{REALM}",service="ecr.amazonaws.com"'


class PlainResponse:
    """What oras-py users hand to authenticate_request in their own tests: a dict of headers."""

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers


@pytest.fixture
def issued(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """A stand-in boto3 whose ECR client hands out token1, token2, ...; logs (region, token)."""
    log: list[tuple[str, str]] = []

    def client(service: str, region_name: str) -> Any:
        assert service == "ecr"
        token = f"token{len(log) + 1}"
        log.append((region_name, token))
        data = {"authorizationData": [{"authorizationToken": token}]}
        return types.SimpleNamespace(get_authorization_token=lambda: data)

    monkeypatch.setitem(sys.modules, "boto3", types.SimpleNamespace(client=client))
    return log


def test_patterns_are_class_attributes() -> None:
    assert EcrAuth.AWS_ECR_PATTERN.fullmatch(HOST)["region"] == REGION
    assert not EcrAuth.AWS_ECR_PATTERN.fullmatch("ghcr.io")
    match = EcrAuth.AWS_ECR_REALM_PATTERN.match(REALM)
    assert match is not None and match["account_id"] == "123456789012"
    assert EcrAuth().AWS_ECR_PATTERN is EcrAuth.AWS_ECR_PATTERN


def test_tokens_are_cached_per_realm_until_refresh(issued: list[tuple[str, str]]) -> None:
    auth = EcrAuth()
    assert auth._tokens == {}
    response = PlainResponse({"Www-Authenticate": CHALLENGE})

    headers, changed = auth.authenticate_request(response, {"Accept": "x"})
    assert changed is True
    assert headers == {"Accept": "x", "Authorization": "Basic token1"}
    assert issued == [(REGION, "token1")]

    headers, _ = auth.authenticate_request(response, {}, refresh=False)
    assert headers["Authorization"] == "Basic token1"
    assert len(issued) == 1  # served from the cache

    headers, _ = auth.authenticate_request(response, {}, refresh=True)
    assert headers["Authorization"] == "Basic token2"
    assert auth._tokens == {REALM: "token2"}


def test_challenge_read_from_a_requests_response(issued: list[tuple[str, str]]) -> None:
    response = requests.Response()
    response.headers["WWW-Authenticate"] = CHALLENGE
    headers, changed = EcrAuth().authenticate_request(response, None)
    assert (headers, changed) == ({"Authorization": "Basic token1"}, True)


def test_no_challenge_is_not_answered(issued: list[tuple[str, str]]) -> None:
    auth = EcrAuth()
    assert auth.authenticate_request(PlainResponse({}), {}) == ({}, False)
    assert auth._tokens == {} and issued == []
