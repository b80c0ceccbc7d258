# Builds nmc-api and nmc-worker into one small image; docker-compose picks the binary per service.
FROM rust:1.95-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends protobuf-compiler && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY . .
RUN cargo build --release --bin nmc-api --bin nmc-worker

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends ca-certificates curl python3 python3-pip \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 nmc \
    && mkdir -p /data/objects && chown nmc /data/objects
# The embedded voicemail transcriber: Moonshine tiny-en, model inside the wheel (scripts/lib.sh pins it).
RUN python3 -m pip install --no-cache-dir --break-system-packages --target /opt/moonshine "moonshine-voice==0.0.73"
COPY scripts/transcribe.py /opt/nmc/transcribe.py
ENV NMC_OFFLINE_TRANSCRIBER="env PYTHONPATH=/opt/moonshine python3 /opt/nmc/transcribe.py" \
    NMC_STORAGE_URL="file:///data/objects"
COPY --from=build /src/target/release/nmc-api /src/target/release/nmc-worker /usr/local/bin/
USER nmc
EXPOSE 8080
CMD ["nmc-api"]
