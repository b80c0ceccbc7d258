# Builds nmc-api and nmc-worker into one small image; docker-compose picks the binary per service.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends protobuf-compiler && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --bin nmc-api --bin nmc-worker

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 nmc
COPY --from=build /src/target/release/nmc-api /src/target/release/nmc-worker /usr/local/bin/
USER nmc
EXPOSE 8080
CMD ["nmc-api"]
