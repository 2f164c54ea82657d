"""Package metadata, in the names oras-py exposes."""

__version__ = "0.3.0"
AUTHOR = "oras-py contributors"
EMAIL = "oras-py@users.noreply.github.com"
NAME = "oras"
PACKAGE_URL = "https://github.com/oras-project/oras-py"
KEYWORDS = "oci, registry, storage, artifacts, oras"
DESCRIPTION = "OCI Registry as Storage Python SDK"
LICENSE = "LICENSE"

INSTALL_REQUIRES = (
    ("jsonschema", {"min_version": None}),
    ("requests", {"min_version": None}),
)
TESTS_REQUIRES = (("pytest", {"min_version": "4.6.2"}),)
DOCKER_REQUIRES = ()
ECR_REQUIRES = (("boto3", {"min_version": None}),)
INSTALL_REQUIRES_ALL = INSTALL_REQUIRES + TESTS_REQUIRES + ECR_REQUIRES
