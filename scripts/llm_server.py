"""A real OpenAI-compatible model server for the tests: llama.cpp's HTTP server embedded in the
PyPI wheel xllamacpp, serving a GGUF model (SmolLM2-135M-Instruct from scripts/lib.sh). It has no
command line of its own: the server runs while this process does.

Run: PYTHONPATH=.tools/xllamacpp python3 scripts/llm_server.py MODEL.gguf PORT
Then: GET /health, POST /v1/chat/completions (response_format json_schema is enforced).
"""
import signal
import sys
import time

import xllamacpp as xlc


def main():
    model, port = sys.argv[1], int(sys.argv[2])
    params = xlc.CommonParams()
    params.model.path = model
    params.hostnames = ["127.0.0.1"]
    params.port = port
    params.n_ctx = 2048
    params.n_parallel = 1
    params.warmup = False
    # Two cores here, shared with the rest of the test suite: one request at a time, one thread.
    params.cpuparams.n_threads = 1
    params.cpuparams_batch.n_threads = 1
    server = xlc.Server(params)
    print("listening", server.listening_address, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    while True:
        time.sleep(1)


if __name__ == "__main__":
    main()
