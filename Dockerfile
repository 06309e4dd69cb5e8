# hoist in a container: a static binary (musl) on an empty image.
#
#   docker build --build-arg HOIST_COMMIT="$(git rev-parse --short=12 HEAD)" -t hoist .
#   docker run --rm --user "$(id -u):$(id -g)" -v "$PWD:/work" hoist apply specs/orders-to-prod.yaml --env prod
#
# (`--user` lets it write into the mounted folder as you; without it hoist runs as nobody.)
#
# The build stage compiles with the versions Cargo.lock pins (Lua is vendored and built from
# source, so a C compiler is all it needs besides Rust); the runtime image holds only the
# binary and runs as an unprivileged user in /work.

FROM rust:1.89-alpine AS build
RUN apk add --no-cache musl-dev gcc make
WORKDIR /src
COPY . .
# The commit `hoist --version` names (the build context has no .git).
ARG HOIST_COMMIT=unknown
ENV HOIST_COMMIT=${HOIST_COMMIT}
RUN cargo build --release --locked \
 && cp target/release/hoist /hoist \
 && strip /hoist

FROM scratch
COPY --from=build /hoist /hoist
USER 65534:65534
WORKDIR /work
ENTRYPOINT ["/hoist"]
