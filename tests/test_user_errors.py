"""A user's mistake gets one clear line that names the fix, and a non-zero exit: never a traceback.

One table, one row per mistake a learner or facilitator makes with a command: an unknown adapter
or strategy, an unreachable or wrong backend, a missing file, a port in use, bad option values.
"""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator

import pytest

from looplab.servers import start_mock


@pytest.fixture(scope="module")
def mock() -> Iterator:
    with start_mock(keepalive_s=60) as server:
        yield server


@pytest.fixture(scope="module")
def busy_port() -> Iterator[int]:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]  # nothing listens there once the socket is closed


# (what the user typed, with {mock}, {down} and {busy} filled in; what the one line must say; exit code)
MISTAKES = [
    ("stack --adapter nonexistent --vllm-url {mock} --model tiny-llama --port 0",
     "unknown adapter 'nonexistent': use a strategy (broken, per_call", 1),
    ("stack --adapter nowhere.module:Adapter --vllm-url {mock} --port 0", "cannot import 'nowhere.module'", 1),
    ("stack --adapter broken --vllm-url {down} --model tiny-llama --port 0 --max-retries 0",
     "vLLM is unreachable (connection refused)", 1),
    ("stack --adapter broken --vllm-url {mock_root} --model tiny-llama --port 0 --max-retries 0",
     "ending in /v1?", 1),
    ("stack --adapter lifespan --vllm-url {mock} --model not-served --port 0",
     "model 'not-served' is not served", 1),
    ("stack --adapter broken --port 0", "no --vllm-url given", 2),
    ("stack --config missing.yaml --port 0", "no run config at missing.yaml", 2),
    ("stack --adapter broken --vllm-url ftp://x --port 0", "must start with http:// or https://", 2),
    ("stack --adapter broken --vllm-url {mock} --max-retries -1 --port 0", "max_retries must be a whole number", 2),
    ("stack --adapter broken --vllm-url {mock} --timeout 0 --port 0", "must be more than 0 seconds", 2),
    ("stack --adapter broken --vllm-url {mock} --model tiny-llama --port {busy}", "cannot listen on 127.0.0.1:", 1),
    ("mock-vllm --port {busy}", "Try --port 0 to pick a free port", 1),
    ("mock-vllm --port 99999", "--port must be between 0 and 65535", 2),
    ("mock-vllm --port 0 --fault boom@1", "unknown fault kind 'boom'", 2),
    ("mock-vllm --port 0 --max-model-len 0", "max_model_len must be at least 1", 2),
    ("mock-vllm --port 0 --ttft-ms nope", "invalid float value: 'nope'", 2),
    ("mock-vllm --port 0 --request-log /no/such/folder/log.jsonl", "folder /no/such/folder does not exist", 2),
    ("bench --target strategies --strategies nonexistent --requests 5 --json", "unknown adapter 'nonexistent'", 2),
    ("bench --requests 0", "must be at least 1, got 0", 2),
    ("bench --target strategies --plot /no/such/folder/x.png", "the folder /no/such/folder does not exist", 2),
    ("labs check /no/such/lab.ipynb", "no such file or folder: /no/such/lab.ipynb", 2),
    ("i18n build --lang fr", "no language 'fr'; known: zh", 2),
    ("real-stack install 9.9.9", "unknown llama-stack release '9.9.9'", 1),
    ("nonsense", "invalid choice: 'nonsense'", 2),
]


@pytest.mark.parametrize("typed, says, code", MISTAKES, ids=[m[0].split(" {")[0][:60] for m in MISTAKES])
def test_a_mistake_gets_one_clear_line_and_a_non_zero_exit(typed, says, code, mock, busy_port, tmp_path):
    argv = typed.format(mock=mock.base_url, mock_root=mock.url, down=f"http://127.0.0.1:{closed_port()}/v1",
                        busy=busy_port).split()
    result = subprocess.run([sys.executable, "-m", "looplab", *argv], capture_output=True, text=True, timeout=120,
                            cwd=tmp_path)
    assert result.returncode == code, result.stdout[-1500:] + result.stderr[-1500:]
    assert "Traceback" not in result.stderr + result.stdout, result.stderr[-3000:]
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and says in lines[-1], result.stderr[-1500:]
