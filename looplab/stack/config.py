"""The run config: which inference adapter, which backend, which models (a small Llama Stack run.yaml).

.. code-block:: yaml

    inference:
      adapter: broken            # a strategy name, or an import path "module:Class"
      url: http://127.0.0.1:8000/v1
      api_token: fake
      max_retries: 0             # optional; omit for the client's default (2)
    models: [tiny-llama]

Each setting is declared once, in :class:`RunConfig`: its key in the YAML file (``yaml``) and its
command-line option (``flag``), from which ``looplab stack``'s options and
:func:`looplab.servers.start_stack`'s command line are generated.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from ..adapters import VLLMConfig


class ConfigError(ValueError):
    """The run config is missing something or has a wrong value; the message says which."""


def _setting(yaml_key: str, flag: str, help: str, **more: Any) -> dict[str, Any]:  # noqa: A002 (argparse's word)
    return {"yaml": yaml_key, "flag": flag, "help": help, **more}


@dataclass
class RunConfig:
    adapter: str = field(metadata=_setting(
        "inference.adapter", "--adapter", "a strategy (broken, per_call, lazy_once, per_loop, lifespan, "
        "per_call_shared_ssl) or an import path module:Class"))
    vllm_url: str = field(metadata=_setting(
        "inference.url", "--vllm-url", "the backend's OpenAI base URL, e.g. http://127.0.0.1:8000/v1", metavar="URL"))
    models: list[str] = field(default_factory=list, metadata=_setting(
        "models", "--model", "a model to register (repeatable)", repeat=True, metavar="NAME"))
    api_key: str = field(default="fake", metadata=_setting("inference.api_token", "--api-key", "the backend's API key"))
    max_retries: int | None = field(default=None, metadata=_setting(
        "inference.max_retries", "--max-retries", "the client's retries (default: the client's own, 2; 0 = off)",
        metavar="N"))
    client_timeout: float = field(default=60.0, metadata=_setting(
        "inference.timeout", "--timeout", "the client's timeout per backend request, in seconds", metavar="SECONDS"))
    ca_file: str | None = field(default=None, metadata=_setting(
        "inference.tls_verify", "--ca-file", "for an https:// backend: the CA bundle the client trusts (as Llama "
        "Stack's tls_verify; set as SSL_CERT_FILE, the usual means)", metavar="FILE"))

    def __post_init__(self) -> None:
        self.validate("config")

    def validate(self, source: str) -> None:
        for name in ("adapter", "vllm_url"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{source}: {_key(name)} must be a non-empty string")
        if not self.vllm_url.startswith(("http://", "https://")):
            raise ConfigError(f"{source}: {_key('vllm_url')} must start with http:// or https:// "
                              f"(got {self.vllm_url!r})")
        self.vllm_url = self.vllm_url.rstrip("/")
        if self.max_retries is not None and (isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int)
                                             or self.max_retries < 0):
            raise ConfigError(f"{source}: {_key('max_retries')} must be a whole number >= 0")
        if not isinstance(self.models, list) or not all(isinstance(m, str) and m for m in self.models):
            raise ConfigError(f"{source}: 'models' must be a list of model names")
        try:
            self.client_timeout = float(self.client_timeout)
        except (TypeError, ValueError):
            raise ConfigError(f"{source}: {_key('client_timeout')} must be a number of seconds") from None
        if self.client_timeout <= 0:
            raise ConfigError(f"{source}: {_key('client_timeout')} must be more than 0 seconds")
        self.api_key = str(self.api_key)
        if self.ca_file is not None:
            self.ca_file = str(self.ca_file)
            if not Path(self.ca_file).is_file():
                raise ConfigError(f"{source}: {_key('ca_file')} names no file: {self.ca_file}")

    @property
    def vllm(self) -> VLLMConfig:
        """What the adapter needs to reach the backend."""
        return VLLMConfig(url=self.vllm_url, api_token=self.api_key, max_retries=self.max_retries,
                          timeout=self.client_timeout)

    @classmethod
    def from_values(cls, values: dict[str, Any], source: str = "config") -> RunConfig:
        """Build and validate a config from ``{field name: value}``; errors name ``source``."""
        missing = [name for name in ("adapter", "vllm_url") if values.get(name) is None]
        if missing:
            raise ConfigError(f"{source}: no {' and no '.join(_flag(m) for m in missing)} given: pass "
                              f"{' and '.join(_flag(m) for m in missing)}, or a --config file with "
                              f"{' and '.join(_key(m) for m in missing)}")
        config = object.__new__(cls)  # validated below, with errors that name the source
        for f in fields(cls):
            setattr(config, f.name, values[f.name] if f.name in values else _default(f))
        config.validate(source)
        return config

    @classmethod
    def from_dict(cls, data: Any, source: str = "config") -> RunConfig:
        return cls.from_values(values_from_yaml(data, source), source)

    def to_dict(self) -> dict[str, Any]:
        """The config as its YAML file would hold it."""
        out: dict[str, Any] = {"inference": {}, "models": list(self.models)}
        for f in fields(self):
            value = getattr(self, f.name)
            section, _, key = f.metadata["yaml"].rpartition(".")
            if section and value is not None:
                out[section][key] = value
        return out


def _default(f: Any) -> Any:
    return f.default_factory() if f.default is MISSING else f.default


def _key(name: str) -> str:
    return next(f.metadata["yaml"] for f in fields(RunConfig) if f.name == name)


def _flag(name: str) -> str:
    return next(f.metadata["flag"] for f in fields(RunConfig) if f.name == name)


def values_from_yaml(data: Any, source: str) -> dict[str, Any]:
    """A run config file's content -> ``{field name: value}``, refusing unknown keys."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a mapping with 'inference' and 'models'")
    inference = data.get("inference")
    if not isinstance(inference, dict):
        raise ConfigError(f"{source}: 'inference' must be a mapping with at least 'adapter' and 'url'")
    by_key = {f.metadata["yaml"]: f.name for f in fields(RunConfig)}
    known = {key.split(".", 1)[1] for key in by_key if key.startswith("inference.")}
    unknown = set(inference) - known
    if unknown:
        raise ConfigError(f"{source}: unknown inference key(s): {', '.join(sorted(unknown))}")
    values = {by_key[f"inference.{key}"]: value for key, value in inference.items()}
    if "models" in data:
        values["models"] = data["models"]
    return values


def load_config(path: str | Path, **overrides: Any) -> RunConfig:
    """Read a run config file; ``overrides`` (field names, e.g. from the command line) win over it."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"no run config at {path}: check the path given to --config") from None
    except IsADirectoryError:
        raise ConfigError(f"{path} is a folder, not a run config file") from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})") from None
    return RunConfig.from_values({**values_from_yaml(data, str(path)), **overrides}, str(path))
