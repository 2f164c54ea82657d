# oras-py in a slim Debian image: the package lives in a virtual environment on PATH.
#
#   docker build -t oras-py .
#   docker run -it oras-py                       # a shell: `which oras-py` finds the CLI
#   docker run --rm oras-py oras-py version
#
# Build arguments:
#   EXTRAS    extras to install with the package, e.g. --build-arg EXTRAS=ecr (Amazon ECR auth)
#   PIP_CERT  a CA bundle for pip when HTTPS goes through an intercepting proxy; mount it for the
#             build only, so it never lands in the image:
#               podman build -v /etc/ssl/certs:/mnt:ro \
#                   --build-arg PIP_CERT=/mnt/ca-certificates.crt -t oras-py .
#
# Two stages: the first has python3-venv and pip and builds the environment; the final image
# gets only Debian's python3 and the finished environment (no pip, no setuptools, no caches).

ARG BASE_IMAGE=debian:bookworm-slim
ARG VENV=/opt/oras-py

FROM ${BASE_IMAGE} AS build
ARG VENV
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
        python3 python3-venv \
    && rm -rf /var/lib/apt/lists/*
# pip lives in a venv of its own; the package's venv gets no pip or setuptools.
RUN python3 -m venv /opt/pip && python3 -m venv --without-pip "${VENV}"
COPY pyproject.toml README.md LICENSE /src/
COPY oras /src/oras
ARG EXTRAS=""
ARG PIP_CERT=""
RUN if [ -z "${PIP_CERT}" ]; then unset PIP_CERT; fi \
    && PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore \
        /opt/pip/bin/pip --python "${VENV}/bin/python" install "/src${EXTRAS:+[${EXTRAS}]}" \
    && "${VENV}/bin/oras-py" version

FROM ${BASE_IMAGE}
ARG VENV
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends python3 \
    && apt-get clean \
    && rm -rf /var/lib/apt/lists/* /var/cache/debconf/*-old /var/log/apt/* /var/log/dpkg.log \
    && useradd --create-home --uid 1000 --user-group --shell /bin/bash oras
COPY --from=build ${VENV} ${VENV}
ENV PATH="${VENV}/bin:${PATH}" \
    PYTHONUNBUFFERED=1
USER oras
WORKDIR /home/oras
CMD ["bash"]
