"""oras-py names that user code reaches for: constructible and printable as they were."""

from __future__ import annotations

import pytest

import oras.auth
import oras.auth.utils
from oras.errors import AuthenticationException, OrasError


def test_authentication_exception_without_arguments() -> None:
    with pytest.raises(AuthenticationException) as info:
        raise oras.auth.AuthenticationException()
    assert info.value.args == () and str(info.value) == ""
    assert isinstance(info.value, Exception) and info.value.hint is None
    assert str(AuthenticationException("refused", hint="log in again")) == "refused"
    assert OrasError().args == ()


def test_auth_header_repr() -> None:
    header = oras.auth.utils.parse_auth_header(
        'Bearer realm="https://auth.example/token",service="registry.example"'
    )
    assert repr(header) == (
        "authHeader(lookup={'service': 'registry.example', "
        "'realm': 'https://auth.example/token', 'scope': None})"
    )
    assert repr(oras.auth.authHeader({})) == (
        "authHeader(lookup={'service': None, 'realm': None, 'scope': None})"
    )
