"""Configuration: defaults < config file < environment < flags.

The config file is ``offchain/config.yaml`` as in the quick-start guide::

    network: testnet
    ogmios_url: ws://localhost:1337
    kupo_url: http://localhost:1442
    data_directory: offchain/data

Environment variables ``CARDANO_NETWORK``, ``OGMIOS_URL``, ``KUPO_URL`` (and
``MILESTONES_DATA_DIR``) override the file; command-line flags override both.
This module is the only place that reads the environment for settings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import yaml

from runner.chain.urls import shown_url
from runner.errors import ConfigError

NETWORKS = ("devnet", "preview", "preprod", "testnet", "mainnet")
DEFAULT_CONFIG_PATH = Path("offchain/config.yaml")
ENVIRONMENT = {
    "CARDANO_NETWORK": "network",
    "OGMIOS_URL": "ogmios_url",
    "KUPO_URL": "kupo_url",
    "MILESTONES_DATA_DIR": "data_directory",
}


@dataclass(frozen=True)
class Config:
    network: str = "devnet"
    ogmios_url: str = "ws://127.0.0.1:1337"
    kupo_url: str = "http://127.0.0.1:1442"
    data_directory: Path = Path("offchain/data")
    source: str = "defaults"

    @property
    def uses_devnet(self) -> bool:
        return self.network == "devnet"


def load_config(
    path: str | os.PathLike[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Config:
    """Merge the layers; ``path=None`` reads the default file only if it exists."""
    environ = os.environ if environ is None else environ
    config = Config()
    file_path = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    if path is not None or file_path.exists():
        config = _apply(config, _read_file(file_path), str(file_path))
    env_values = {key: environ[var] for var, key in ENVIRONMENT.items() if environ.get(var)}
    config = _apply(config, env_values, "environment")
    flag_values = {k: v for k, v in (overrides or {}).items() if v is not None}
    config = _apply(config, flag_values, "flags")
    _check(config)
    return config


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            "config file not found", location=str(path),
            hint="create it (see README 'Configuration') or omit --config",
        ) from exc
    except IsADirectoryError as exc:
        raise ConfigError("the config file is a directory", location=str(path),
                          hint="give the path of config.yaml itself") from exc
    except UnicodeDecodeError as exc:
        raise ConfigError(f"config file is not UTF-8 text (byte {exc.start}: {exc.reason})", location=str(path),
                          hint="save it as UTF-8 YAML") from exc
    except OSError as exc:
        raise ConfigError(f"cannot read the config file: {exc.strerror or exc}", location=str(path),
                          hint="check the path and its permissions") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        raise ConfigError(f"config file is not valid YAML: {getattr(exc, 'problem', exc)}",
                          location=where, hint="fix the YAML syntax") from exc
    if not isinstance(data, dict):
        raise ConfigError("config file must be a mapping of settings", location=str(path),
                          hint="write 'network: devnet' style key: value lines")
    known = {f.name for f in fields(Config)} - {"source"}
    unknown = sorted(set(data) - known)
    if unknown:
        raise ConfigError(f"unknown setting(s): {', '.join(unknown)}", location=str(path),
                          hint=f"known settings: {', '.join(sorted(known))}")
    return data


def _apply(config: Config, values: Mapping[str, Any], source: str) -> Config:
    if not values:
        return config
    cleaned: dict[str, Any] = {}
    for key, value in values.items():
        if key == "data_directory":
            cleaned[key] = _directory(value, source)
        else:
            if not isinstance(value, str):
                raise ConfigError(f"setting '{key}' must be a string, got {value!r}",
                                  location=source, hint=f"quote the value of {key}")
            cleaned[key] = value
    return replace(config, source=source, **cleaned)


def _directory(value: Any, source: str) -> Path:
    """A path from a flag (a Path), the environment or the file (a non-empty string)."""
    if isinstance(value, Path):
        return value
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise ConfigError(f"setting 'data_directory' must be a directory path, got {value!r}",
                          location=f"{source}: data_directory",
                          hint="e.g. data_directory: offchain/data (quote it if it looks like a number)")
    return Path(value)


def _check(config: Config) -> None:
    if config.network not in NETWORKS:
        raise ConfigError(
            f"unknown network '{config.network}'", location=config.source,
            hint=f"use one of: {', '.join(NETWORKS)}",
        )
    if not config.ogmios_url.startswith(("ws://", "wss://")):
        raise ConfigError(f"ogmios_url must start with ws:// or wss://, got '{shown_url(config.ogmios_url)}'",
                          location=config.source, hint="e.g. ws://localhost:1337")
    if not config.kupo_url.startswith(("http://", "https://")):
        raise ConfigError(f"kupo_url must start with http:// or https://, got '{shown_url(config.kupo_url)}'",
                          location=config.source, hint="e.g. http://localhost:1442")
