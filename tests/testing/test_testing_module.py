"""runner.testing.ledger is a shipped module: its public names are importable and exported."""

from pathlib import Path

import runner.testing.ledger as ledger_kit


def test_exported_members():
    public = {name for name in dir(ledger_kit)
              if not name.startswith("_") and getattr(getattr(ledger_kit, name), "__module__", None)
              == ledger_kit.__name__}
    public |= {"ALWAYS_SUCCEEDS", "ALWAYS_FAILS", "UNITS"}
    assert set(ledger_kit.__all__) == public
    for name in ledger_kit.__all__:
        assert hasattr(ledger_kit, name), name


def test_the_module_needs_no_test_framework():
    source = ledger_kit.__file__
    assert source is not None
    text = Path(source).read_text()
    assert "import pytest" not in text and "from pytest" not in text


def test_ogmios_schemas_are_found():
    assert (ledger_kit._OGMIOS_DIR / "ogmios.json").is_file()
