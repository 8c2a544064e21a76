# Multi-stage build: compile in the Rust image, run in a slim Debian with libpq only.
FROM rust:1.95-bookworm AS build
WORKDIR /src
RUN apt-get update && apt-get install -y --no-install-recommends libpq-dev && rm -rf /var/lib/apt/lists/*
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY migrations ./migrations
COPY sample ./sample
COPY openapi ./openapi
RUN cargo build --release --locked --bin jjj-registry

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libpq5 ca-certificates && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /var/lib/jjj-registry --create-home registry
COPY --from=build /src/target/release/jjj-registry /usr/local/bin/jjj-registry
WORKDIR /var/lib/jjj-registry
USER registry
ENV REGISTRY_BIND=0.0.0.0:8080 REGISTRY_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=5s --start-period=20s --retries=3 \
    CMD ["jjj-registry", "healthcheck", "--url", "http://127.0.0.1:8080/readyz"]
ENTRYPOINT ["jjj-registry"]
CMD ["serve"]
