# syntax=docker/dockerfile:1
# The Focus Server image. Build from the workspace root:
#   docker build -f deploy/docker/focus-server.Dockerfile -t focus-server:dev .
# (focus-server.Dockerfile.dockerignore beside this file keeps target/ and .venv/ out.)

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# rust-toolchain.toml pins the toolchain; rustup installs it here on first use.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p focus-server \
    && install -D target/release/focus-server /out/focus-server

# glibc, no shell, no package manager; runs as uid 65532.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/focus-server /usr/local/bin/focus-server
USER 65532:65532
EXPOSE 5000
ENTRYPOINT ["/usr/local/bin/focus-server"]
CMD ["--listen", "0.0.0.0:5000", "--log-format", "json"]
