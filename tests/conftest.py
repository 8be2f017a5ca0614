"""Shared test helpers. Fixtures for servers come from looplab.entrypoints.pytest_plugin."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
REFERENCE_FILE = FIXTURES / "vllm-0.32.0-responses.jsonl"
# The reference server was started with these settings (see fixtures/README.md).
REFERENCE_MODEL, REFERENCE_KEY, REFERENCE_MAX_LEN = "tiny-llama", "sekret", 512


def load_reference() -> dict[str, dict[str, Any]]:
    with REFERENCE_FILE.open() as f:
        return {case["name"]: case for case in map(json.loads, f)}


@pytest.fixture(scope="session")
def reference() -> dict[str, dict[str, Any]]:
    return load_reference()
