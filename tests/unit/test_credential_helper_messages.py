"""What a failing credential helper said, as it may appear in an error: no secret in it."""

from __future__ import annotations

import pytest

from oras.credentials.helpers import _safe_message


@pytest.mark.parametrize(
    "said, secrets, expected",
    [
        ("keychain is locked", (), "keychain is locked"),
        ("error getting credentials - err: exit status 1,\nout: `locked`", (), None),
        ("cannot store hunter2 for me", ("hunter2",), "cannot store *** for me"),
        ("bad entry S3ntinel-Pa55-1a2b3c: decrypt failed", (), "bad entry ***: decrypt failed"),
        ('{"Username": "u", "Secret": "hunter2"}', (), "(its output is not shown"),
        ("Secret: hunter2", (), "(its output is not shown"),
        ("secret=hunter2", (), "(its output is not shown"),
        ("gpg: decryption failed\x1b[31m\x00", (), "gpg: decryption failed"),
        ("docker-credential-secretservice cannot reach D-Bus", (), None),
    ],
)
def test_helper_messages_keep_their_words_but_no_secret(
    said: str, secrets: tuple[str, ...], expected: str
) -> None:
    message = _safe_message(said, secrets)
    assert "\n" not in message and message.isprintable()
    assert (expected or " ".join(said.split())) in message
    for secret in (*secrets, "hunter2", "S3ntinel"):
        assert secret not in message


def test_long_helper_messages_are_cut_to_one_short_line() -> None:
    message = _safe_message("locked " * 200, ())
    assert len(message) <= 300 and message.endswith("…")
