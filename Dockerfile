# One image with all four Goalkeeper binaries (docs/deploy.md, "Images"):
#   /usr/local/bin/goalkeeper-coordinator, goalkeeper-notifier, goalkeeper-worker, goalkeeperctl
# The Helm chart picks the binary with `command:`.
#
#   podman build -t localhost/goalkeeper:0.1.0 .         # or: docker build
#   scripts/build-images.sh                               # the same, plus a local base image,
#                                                         # the digest and an SBOM
#
# Stage 1 (builder) compiles a Release build from Debian 12's -dev packages and
# works out which runtime packages the binaries link (ldd + dpkg -S). Stage 2
# (runtime) installs only those and ca-certificates on debian:bookworm-slim,
# runs as the fixed non-root UID/GID 10001 and has no shell: /bin/sh, dash and
# bash are removed, so nothing may rely on one (commands are exec form).

# ---------------------------------------------------------------------------
FROM debian:bookworm-slim AS builder

# The build list of scripts/setup.sh without what only tests, fuzzing and
# benchmarks need (GoogleTest, clang, iproute2, iptables, python3, ...).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      build-essential cmake ninja-build pkg-config \
      libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc \
      libabsl-dev libboost-dev libboost-system-dev libspdlog-dev libfmt-dev \
      libcurl4-openssl-dev libssl-dev libsqlite3-dev \
      libyaml-cpp-dev prometheus-cpp-dev nlohmann-json3-dev \
      libre2-dev \
      libsystemd-dev \
 && rm -rf /var/lib/apt/lists/*

COPY . /src
# Parallel compile jobs; empty = Ninja's default (all cores).
ARG JOBS=""
# Must equal project(VERSION) in CMakeLists.txt: checked below.
ARG VERSION=0.1.0
RUN cmake -S /src -B /build -G Ninja -DCMAKE_BUILD_TYPE=Release -DGOALKEEPER_TESTS=OFF \
 && cmake --build /build ${JOBS:+-j"$JOBS"} --target \
      goalkeeper-coordinator goalkeeper-notifier goalkeeper-worker goalkeeperctl \
 && mkdir -p /out/bin \
 && install -m 0755 -s /build/coordinator/goalkeeper-coordinator \
      /build/notifier/goalkeeper-notifier /build/worker/goalkeeper-worker \
      /build/cli/goalkeeperctl /out/bin/ \
 && for b in /out/bin/*; do \
      test "$("$b" --version)" = "$(basename "$b") ${VERSION}" \
        || { echo "$b --version: '$("$b" --version)', want ${VERSION}" >&2; exit 1; }; \
    done
# The runtime packages: the Debian package of every shared library the
# binaries load (ldd lists them all, transitive ones included).
RUN for b in /out/bin/*; do ldd "$b"; done \
      | awk '$2 == "=>" && $3 ~ /^\// { print $3 }' | sort -u \
      | while read -r lib; do \
          dpkg -S "$lib" 2>/dev/null || dpkg -S "$(readlink -f "$lib")"; \
        done \
      | cut -d: -f1 | sort -u > /out/runtime-packages \
 && echo "runtime packages: $(tr '\n' ' ' < /out/runtime-packages)"

# ---------------------------------------------------------------------------
FROM debian:bookworm-slim AS runtime

ARG VERSION=0.1.0
ARG REVISION=unknown
LABEL org.opencontainers.image.title="goalkeeper" \
      org.opencontainers.image.description="Goalkeeper: coordinator, notifier, worker and goalkeeperctl" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.base.name="debian:bookworm-slim"

COPY --from=builder /out/runtime-packages /tmp/runtime-packages
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates $(cat /tmp/runtime-packages) \
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/* /tmp/runtime-packages \
 && groupadd --system --gid 10001 goalkeeper \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/goalkeeper --no-create-home \
      --shell /usr/sbin/nologin goalkeeper \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/goalkeeper
COPY --from=builder /out/bin/ /usr/local/bin/
# No shell at run time (exec form: this RUN needs none either).
RUN ["/usr/bin/rm", "-f", "/usr/bin/sh", "/usr/bin/dash", "/usr/bin/bash", "/usr/bin/rbash", \
     "/bin/sh", "/bin/dash", "/bin/bash", "/bin/rbash"]

USER 10001:10001
WORKDIR /var/lib/goalkeeper
# The chart sets the command; by default, the CLI's usage.
CMD ["goalkeeperctl", "--help"]
