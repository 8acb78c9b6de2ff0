# syntax=docker/dockerfile:1
# The scenario runner image, with the scenario suite compiled to a WebAssembly component in
# /opt/scenarios. Build from the workspace root:
#   docker build -f deploy/docker/runner.Dockerfile -t scenario-runner:dev .

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# rust-toolchain.toml pins the toolchain and the wasm32-wasip2 target; rustup installs both.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p scenario-runner \
    && cargo build --release --locked -p focus-outage-scenarios --target wasm32-wasip2 \
    && install -D target/release/scenario-runner /out/bin/scenario-runner \
    && install -D target/wasm32-wasip2/release/focus_outage_scenarios.wasm /out/scenarios/focus_outage_scenarios.wasm

# A shell is kept (the Job prints the JUnit report after the run); runs as uid 10001.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --uid 10001 --user-group --home-dir /work --no-create-home runner
COPY --from=build /out/bin/scenario-runner /usr/local/bin/scenario-runner
COPY --from=build /out/scenarios /opt/scenarios
USER 10001:10001
WORKDIR /work
ENTRYPOINT ["/usr/local/bin/scenario-runner"]
CMD ["run", "/opt/scenarios", "--env", "cluster"]
