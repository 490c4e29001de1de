"""Configuration layers: defaults < config file < environment < flags."""

from pathlib import Path

import pytest

from runner.config import load_config
from runner.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


def test_file_values_override_defaults(tmp_path):
    path = write(tmp_path, "network: preview\nogmios_url: ws://node:1337\n")
    config = load_config(path, environ={})
    assert config.network == "preview"
    assert config.ogmios_url == "ws://node:1337"
    assert config.kupo_url == "http://127.0.0.1:1442"


def test_environment_overrides_file_and_flags_override_environment(tmp_path):
    path = write(tmp_path, "network: preview\n")
    env = {"CARDANO_NETWORK": "preprod", "KUPO_URL": "http://kupo:1442"}
    assert load_config(path, environ=env).network == "preprod"
    config = load_config(path, environ=env, overrides={"network": "mainnet", "data_directory": "/x"})
    assert config.network == "mainnet"
    assert config.kupo_url == "http://kupo:1442"
    assert config.data_directory == Path("/x")


def test_unknown_network_is_a_config_error_with_a_hint(tmp_path):
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, "network: moon\n"), environ={})
    assert "moon" in info.value.message
    assert "devnet" in (info.value.hint or "")


def test_bad_yaml_reports_file_and_line(tmp_path):
    path = write(tmp_path, "network: devnet\nogmios_url: [unclosed\n")
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert info.value.location is not None and info.value.location.startswith(f"{path}:")


def test_unknown_setting_is_named(tmp_path):
    with pytest.raises(ConfigError, match="colour"):
        load_config(write(tmp_path, "colour: blue\n"), environ={})


def test_cli_reports_config_error_without_traceback(tmp_path):
    import subprocess
    import sys

    path = write(tmp_path, "network: moon\n")
    proc = subprocess.run([sys.executable, "-m", "runner", "--config", str(path), "devnet", "status"],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "unknown network 'moon'" in proc.stderr


@pytest.mark.parametrize("value", ["null", "5", "[a, b]", "{x: 1}", "''", "true"])
def test_a_data_directory_that_is_not_a_path_is_refused_where_it_was_written(tmp_path, value):
    path = write(tmp_path, f"data_directory: {value}\n")
    with pytest.raises(ConfigError, match="data_directory") as info:
        load_config(path, environ={})
    assert info.value.location == f"{path}: data_directory" and info.value.hint


def test_a_data_directory_from_the_environment_is_a_path(tmp_path):
    assert load_config(None, environ={"MILESTONES_DATA_DIR": "/srv/m"}).data_directory == Path("/srv/m")


def test_a_config_file_that_is_not_utf8_or_is_a_directory_is_a_config_error(tmp_path):
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(b"network: devnet\n\xff\xfe")
    with pytest.raises(ConfigError, match="not UTF-8 text \\(byte 16"):
        load_config(binary, environ={})
    with pytest.raises(ConfigError, match="is a directory"):
        load_config(tmp_path, environ={})
