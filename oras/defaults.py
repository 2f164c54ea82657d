"""Constants shared by the library, with the names and values oras-py exposes."""


class registry:
    index_hostname = "index.docker.io"
    index_server = "https://index.docker.io/v1/"
    index_name = "docker.io"
    default_v2_registry = {"scheme": "https", "host": "registry-1.docker.io"}


default_tag = "latest"

default_blob_dir_media_type = "application/vnd.oci.image.layer.v1.tar+gzip"
default_blob_media_type = "application/vnd.oci.image.layer.v1.tar"
unknown_config_media_type = "application/vnd.unknown.config.v1+json"
default_manifest_media_type = "application/vnd.oci.image.manifest.v1+json"
default_index_media_type = "application/vnd.oci.image.index.v1+json"
docker_manifest_media_type = "application/vnd.docker.distribution.manifest.v2+json"
docker_manifest_list_media_type = "application/vnd.docker.distribution.manifest.list.v2+json"
default_manifest_accepted_media_types = [
    default_manifest_media_type,
    default_index_media_type,
    docker_manifest_media_type,
    docker_manifest_list_media_type,
]
empty_media_type = "application/vnd.oci.empty.v1+json"
unknown_artifact_type = "application/vnd.unknown.artifact.v1"

annotation_title = "org.opencontainers.image.title"
annotation_digest = "io.deis.oras.content.digest"
annotation_unpack = "io.deis.oras.content.unpack"

oci_image_index_file = "index.json"
oci_blobs_dir = "blobs"
oci_layout_file = "oci-layout"
oci_layout_version_pin = "1.0.0"
oci_index_schema_version = 2
oci_ref_name_annotation = "org.opencontainers.image.ref.name"

default_blocksize = 32768
default_chunksize = 16777216

blank_hash = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
blank_config_hash = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"
