"""Amazon ECR: trade AWS credentials for a registry password through boto3 (`pip install oras[ecr]`)."""

from __future__ import annotations

import logging
import re
from typing import Any, Optional

import requests

from oras.auth.token import TokenAuth
from oras.log import logger as logger  # oras-py's module-level name
from oras.remote.challenge import parse_challenges

log = logging.getLogger(__name__)

AWS_ECR_PATTERN = re.compile(r"(?P<account_id>\d{12})\.dkr\.ecr\.(?P<region>[^.]+)\.amazonaws\.com")
AWS_ECR_REALM_PATTERN = re.compile(
    r"https://(?P<account_id>\d{12})\.dkr\.ecr\.(?P<region>[^.]+)\.amazonaws\.com/"
)


def _www_authenticate(response: Any) -> str:
    """The response's `WWW-Authenticate` value, also from a plain dict of headers (any case)."""
    headers = getattr(response, "headers", None) or {}
    return next((v for k, v in headers.items() if k.lower() == "www-authenticate"), "") or ""


class EcrAuth(TokenAuth):
    """TokenAuth that answers ECR's challenge with a boto3 authorization token."""

    #: An ECR registry host, `<account>.dkr.ecr.<region>.amazonaws.com` (oras-py's class names).
    AWS_ECR_PATTERN = AWS_ECR_PATTERN
    #: The realm of an ECR challenge: that host as an https URL with a trailing slash.
    AWS_ECR_REALM_PATTERN = AWS_ECR_REALM_PATTERN

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        #: realm -> the authorization token boto3 gave for it (oras-py's `_tokens`).
        self._tokens: dict[str, str] = {}

    def load_configs(self, container: Any, configs: Optional[list[str]] = None) -> None:
        container = self.get_container(container)
        if self.AWS_ECR_PATTERN.fullmatch(container.registry.split(":")[0]):
            self.add_registry_host(container.registry)
            return
        super().load_configs(container, configs)

    def authenticate_request(
        self, original: requests.Response, headers: Optional[dict] = None, refresh: bool = False
    ) -> tuple[dict, bool]:
        headers = dict(headers or {})
        challenges = parse_challenges(_www_authenticate(original))
        challenge = challenges[0] if challenges else None
        realm = (challenge.realm or "") if challenge else ""
        match = self.AWS_ECR_REALM_PATTERN.match(realm)
        if challenge is None or challenge.service != "ecr.amazonaws.com" or not match:
            return super().authenticate_request(original, headers, refresh)
        if refresh or realm not in self._tokens:
            try:
                import boto3
            except ImportError:
                raise ImportError("ECR authentication needs boto3: pip install oras[ecr]") from None
            client = boto3.client("ecr", region_name=match.group("region"))
            data = client.get_authorization_token()
            self._tokens[realm] = data["authorizationData"][0]["authorizationToken"]
        headers["Authorization"] = f"Basic {self._tokens[realm]}"
        return headers, True
