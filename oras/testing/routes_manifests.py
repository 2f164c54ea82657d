"""The test registry's manifest routes: manifests by tag or digest (read, checked and
stored, deleted), a repository's tags, and the referrers API."""

from __future__ import annotations

import json
import urllib.parse
from typing import Any, Optional

from oras.digest import digest_problem
from oras.testing.connection import Connection
from oras.testing.protocol import TAG_RE, Reply, check_digest
from oras.testing.storage import ManifestRecord, digest_bytes

#: Largest manifest accepted (what Distribution and most registries take).
MAX_MANIFEST_SIZE = 4 * 1024 * 1024

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
IMAGE_MANIFESTS = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEXES = (OCI_INDEX, DOCKER_LIST)


class ManifestRoutes(Connection):
    """The `manifest`, `tags` and `referrers` routes of a `RegistryHandler`."""

    # -- tags ----------------------------------------------------------------------------------------

    def _tags(self, name: str) -> None:
        tags = self.settings.storage.tags(name)
        if tags is None:
            raise Reply(
                404, "NAME_UNKNOWN", "repository name not known to registry", {"name": name}
            )
        self._paged("tags", tags, f"/v2/{name}/tags/list", {"name": name})

    # -- manifests ----------------------------------------------------------------------------------

    def _resolve(self, name: str, reference: str) -> str:
        storage = self.settings.storage
        if ":" in reference:
            digest = check_digest(reference)
        else:
            if not TAG_RE.fullmatch(reference):
                raise Reply(400, "TAG_INVALID", "invalid tag", {"tag": reference})
            found = storage.resolve_tag(name, reference)
            if found is None:
                raise Reply(404, "MANIFEST_UNKNOWN", "manifest unknown", {"tag": reference})
            digest = found
        if storage.manifest(name, digest) is None:
            raise Reply(404, "MANIFEST_UNKNOWN", "manifest unknown", {"digest": digest})
        return digest

    def _manifest(self, name: str, reference: str) -> None:
        storage = self.settings.storage
        if self.command == "PUT":
            return self._put_manifest(name, reference)
        if self.command == "DELETE":
            if not self.settings.delete:
                raise Reply(405, "UNSUPPORTED", "deletes are disabled on this registry")
            if ":" not in reference:
                self._resolve(name, reference)
                storage.delete_tag(name, reference)
                return self._send(202)
            digest = self._resolve(name, reference)
            storage.delete_manifest(name, digest)
            return self._send(202)
        digest = self._resolve(name, reference)
        record = storage.manifest(name, digest)
        assert record is not None
        with storage.open_blob(digest) as f:
            data = f.read()
        headers = {"Docker-Content-Digest": digest, "ETag": f'"{digest}"'}
        self._send(200, data, record.media_type, headers)

    def _put_manifest(self, name: str, reference: str) -> None:
        storage = self.settings.storage
        tag: Optional[str] = None
        if ":" in reference:
            check_digest(reference)
        elif not TAG_RE.fullmatch(reference):
            raise Reply(400, "TAG_INVALID", "invalid tag", {"tag": reference})
        else:
            tag = reference
        data = self.read_body(MAX_MANIFEST_SIZE)
        try:
            manifest = json.loads(data)
        except ValueError as e:
            raise Reply(400, "MANIFEST_INVALID", f"manifest is not JSON: {e}")
        if not isinstance(manifest, dict):
            raise Reply(400, "MANIFEST_INVALID", "manifest is not a JSON object")
        content_type = self.headers.get("Content-Type", "").split(";")[0].strip()
        declared = manifest.get("mediaType")
        if content_type in ("", "application/octet-stream", "application/json"):
            content_type = ""
        if declared is not None and content_type and declared != content_type:
            raise Reply(
                400,
                "MANIFEST_INVALID",
                f"mediaType {declared!r} differs from Content-Type {content_type!r}",
            )
        media_type = (
            content_type
            or (declared if isinstance(declared, str) else "")
            or (OCI_INDEX if "manifests" in manifest else OCI_MANIFEST)
        )
        record = self._check_manifest(name, manifest, media_type, len(data))
        algorithm = reference.split(":", 1)[0] if tag is None else "sha256"
        digest = digest_bytes(data, algorithm)
        if tag is None and digest != reference:
            raise Reply(
                400,
                "DIGEST_INVALID",
                "manifest digest differs from the reference",
                {"digest": digest},
            )
        storage.put_manifest(name, digest, data, record, tag)
        headers = {
            "Location": f"{self._base_url()}/v2/{name}/manifests/{digest}",
            "Docker-Content-Digest": digest,
        }
        extra_tags = [t for t in self.query.get("tag", []) if TAG_RE.fullmatch(t)]
        for extra in extra_tags:
            storage.put_manifest(name, digest, data, record, extra)
        if record.subject and self.settings.referrers:
            headers["OCI-Subject"] = record.subject
        if extra_tags:
            headers["OCI-Tag"] = ", ".join(extra_tags)
        self._send(201, headers=headers)

    def _check_manifest(
        self, name: str, manifest: dict[str, Any], media_type: str, size: int
    ) -> ManifestRecord:
        storage = self.settings.storage

        def descriptor(value: Any, what: str) -> dict[str, Any]:
            if (
                not isinstance(value, dict)
                or not isinstance(value.get("digest"), str)
                or digest_problem(value["digest"])
                or not isinstance(value.get("size"), int)
            ):
                raise Reply(400, "MANIFEST_INVALID", f"invalid {what} descriptor")
            return value

        artifact_type = manifest.get("artifactType")
        if media_type in IMAGE_MANIFESTS + INDEXES and manifest.get("schemaVersion") != 2:
            raise Reply(400, "MANIFEST_INVALID", "schemaVersion must be 2")
        if media_type in IMAGE_MANIFESTS:
            config = descriptor(manifest.get("config"), "config")
            layers = manifest.get("layers")
            if not isinstance(layers, list):
                raise Reply(400, "MANIFEST_INVALID", "layers must be a list")
            for item in [config, *(descriptor(layer, "layer") for layer in layers)]:
                if item is not config and item.get("urls"):
                    continue  # a foreign layer lives elsewhere
                if storage.has_blob(name, item["digest"]) is None:
                    raise Reply(
                        400, "MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", item["digest"]
                    )
            if not isinstance(artifact_type, str):
                artifact_type = config.get("mediaType")
        elif media_type in INDEXES:
            children = manifest.get("manifests")
            if not isinstance(children, list):
                raise Reply(400, "MANIFEST_INVALID", "manifests must be a list")
            for child in children:
                child = descriptor(child, "manifest")
                if storage.manifest(name, child["digest"]) is None:
                    raise Reply(
                        400,
                        "MANIFEST_BLOB_UNKNOWN",
                        "manifest unknown to registry",
                        child["digest"],
                    )
        subject = manifest.get("subject")
        annotations = manifest.get("annotations")
        return ManifestRecord(
            media_type,
            size,
            descriptor(subject, "subject")["digest"] if subject is not None else None,
            artifact_type if isinstance(artifact_type, str) else None,
            annotations if isinstance(annotations, dict) else None,
        )

    # -- referrers ----------------------------------------------------------------------------------

    def _referrers(self, name: str, digest: str) -> None:
        check_digest(digest)
        wanted = [t for t in self.query.get("artifactType", []) if t]
        last = (self.query.get("last") or [""])[0]
        page_size = self.settings.referrers_page_size
        entries = []
        headers: dict[str, str] = {}
        for referrer, record in self.settings.storage.referrers(name, digest):
            if (wanted and record.artifact_type not in wanted) or (last and referrer <= last):
                continue
            if page_size and len(entries) == page_size:
                query = urllib.parse.urlencode(
                    [("last", entries[-1]["digest"])] + [("artifactType", t) for t in wanted]
                )
                headers["Link"] = f'</v2/{name}/referrers/{digest}?{query}>; rel="next"'
                break
            entry: dict[str, Any] = {
                "mediaType": record.media_type,
                "digest": referrer,
                "size": record.size,
            }
            if record.artifact_type:
                entry["artifactType"] = record.artifact_type
            if record.annotations:
                entry["annotations"] = record.annotations
            entries.append(entry)
        index = {"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": entries}
        if wanted:
            headers["OCI-Filters-Applied"] = "artifactType"
        self._json(200, index, OCI_INDEX, headers=headers)
