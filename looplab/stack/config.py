"""The run config: which inference adapter, which backend, which models (a small Llama Stack run.yaml).

.. code-block:: yaml

    inference:
      adapter: broken            # a strategy name, or an import path "module:Class"
      url: http://127.0.0.1:8000/v1
      api_token: fake
      max_retries: 0             # optional; omit for the client's default (2)
    models: [tiny-llama]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..adapters import VLLMConfig


class ConfigError(ValueError):
    """The run config is missing something or has a wrong value; the message says which."""


@dataclass
class RunConfig:
    adapter: str
    vllm: VLLMConfig
    models: list[str] = field(default_factory=list)

    @classmethod
    def from_dict(cls, data: Any, source: str = "config") -> RunConfig:
        if not isinstance(data, dict):
            raise ConfigError(f"{source}: expected a mapping with 'inference' and 'models'")
        inference = data.get("inference")
        if not isinstance(inference, dict):
            raise ConfigError(f"{source}: 'inference' must be a mapping with at least 'adapter' and 'url'")
        unknown = set(inference) - {"adapter", "url", "api_token", "max_retries", "timeout"}
        if unknown:
            raise ConfigError(f"{source}: unknown inference key(s): {', '.join(sorted(unknown))}")
        for key in ("adapter", "url"):
            if not isinstance(inference.get(key), str) or not inference[key]:
                raise ConfigError(f"{source}: inference.{key} must be a non-empty string")
        if not inference["url"].startswith(("http://", "https://")):
            raise ConfigError(f"{source}: inference.url must start with http:// or https:// "
                              f"(got {inference['url']!r})")
        retries = inference.get("max_retries")
        if retries is not None and (not isinstance(retries, int) or retries < 0):
            raise ConfigError(f"{source}: inference.max_retries must be a whole number >= 0")
        models = data.get("models", [])
        if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
            raise ConfigError(f"{source}: 'models' must be a list of model names")
        vllm = VLLMConfig(url=inference["url"].rstrip("/"), api_token=str(inference.get("api_token", "fake")),
                          max_retries=retries, timeout=float(inference.get("timeout", 60.0)))
        return cls(adapter=inference["adapter"], vllm=vllm, models=list(models))

    def to_dict(self) -> dict[str, Any]:
        inference: dict[str, Any] = {"adapter": self.adapter, "url": self.vllm.url, "api_token": self.vllm.api_token,
                                     "timeout": self.vllm.timeout}
        if self.vllm.max_retries is not None:
            inference["max_retries"] = self.vllm.max_retries
        return {"inference": inference, "models": self.models}


def load_config(path: str | Path) -> RunConfig:
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no run config at {path}") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return RunConfig.from_dict(data, str(path))
