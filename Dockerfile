# q2api container image.
#
#   docker build -t q2api .
#   docker run --rm -p 8080:8080 -v "$PWD/my-q2api.yaml:/etc/q2api/q2api.yaml:ro" -v q2api-state:/var/lib/q2api q2api
#   docker run --rm -v "$PWD/my-q2api.yaml:/etc/q2api/q2api.yaml:ro" q2api check -c /etc/q2api/q2api.yaml
#
# The config must listen on a non-loopback address (`address: 0.0.0.0:8080`, with api_keys) and keep
# its state in the volume (`state_dir: /var/lib/q2api/state`). The build steps are scripts/release-build,
# which scripts/test also runs outside Docker, so the image's build is tested on every change.
# examples/kubernetes/ runs this image as a StatefulSet.

# The builder's Debian release must match the runtime's (glibc); its Swift must read Package.swift's
# swift-tools-version (Tests/Conformance/test_examples.py checks both).
ARG SWIFT_IMAGE=swift:6.3-bookworm
ARG RUNTIME_IMAGE=debian:bookworm-slim

FROM ${SWIFT_IMAGE} AS build
WORKDIR /src
# Dependencies first: a change to the sources alone does not fetch them again.
COPY Package.* ./
RUN swift package resolve
COPY . .
RUN scripts/release-build --install /out

FROM ${RUNTIME_IMAGE}
# The binary carries the Swift runtime and Foundation (--static-swift-stdlib); it needs glibc, libstdc++,
# libgcc_s and zlib (all in the base image) and CA certificates for TLS to Amazon Q and the OIDC service.
# libsqlite3-0 is loaded at run time by `q2api import` only, to read an Amazon Q / Kiro CLI database.
RUN apt-get update \
    && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ca-certificates libsqlite3-0 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 q2api \
    && useradd --system --uid 10001 --gid q2api --home-dir /var/lib/q2api --no-create-home \
        --shell /usr/sbin/nologin q2api \
    && install -d -o q2api -g q2api -m 0700 /var/lib/q2api \
    && install -d -m 0755 /etc/q2api
COPY --from=build /out/q2api /usr/local/bin/q2api

# A fixed non-root uid (the Kubernetes example's runAsUser); nothing in the image is writable but the volume.
USER 10001:10001
WORKDIR /var/lib/q2api
VOLUME ["/var/lib/q2api"]
EXPOSE 8080
# SIGTERM drains in-flight streams for up to 30 s: give `docker stop` more than that (docker stop -t 45).
STOPSIGNAL SIGTERM
# No HEALTHCHECK: the image has no HTTP client, and the listener's port is the config's choice. Probe
# GET /healthz (liveness) and /readyz (readiness) from outside, as the Kubernetes example does.
ENTRYPOINT ["/usr/local/bin/q2api"]
CMD ["serve", "-c", "/etc/q2api/q2api.yaml"]
