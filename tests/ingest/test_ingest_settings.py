"""The loader's variables are read in orchestration/settings.py and become its options."""

from __future__ import annotations

import pytest

from orchestration.ingest.options import load_ingest_options
from orchestration.settings import load_ingest_settings

_VARIABLES = (
    "AGENTLEDGER_ATTRIBUTE_MAPPING",
    "AGENTLEDGER_MAX_SPAN_AGE_DAYS",
    "AGENTLEDGER_INGEST_THREADS",
    "AGENTLEDGER_INGEST_MAX_LINE_BYTES",
    "AGENTLEDGER_INGEST_MAX_JSON_DEPTH",
    "AGENTLEDGER_INGEST_ALLOW_SYMLINKS",
    "AGENTLEDGER_INGEST_MEMORY_LIMIT",
)


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch):
    for name in _VARIABLES:
        monkeypatch.delenv(name, raising=False)


def test_defaults_when_nothing_is_set():
    options = load_ingest_options()
    assert (options.max_span_age_days, options.threads, options.memory_limit) == (1826, 2, "3GB")
    assert options.limits.max_line_bytes == 128 * 1024 * 1024
    assert options.limits.allow_symlinks is False
    assert options.mapping.source == "built-in defaults"


def test_values_are_read_and_limits_raised_to_their_floor(monkeypatch, tmp_path):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("fields:\n  department: [team.department]\n")
    monkeypatch.setenv("AGENTLEDGER_ATTRIBUTE_MAPPING", str(mapping))
    monkeypatch.setenv("AGENTLEDGER_MAX_SPAN_AGE_DAYS", "30")
    monkeypatch.setenv("AGENTLEDGER_INGEST_THREADS", "0")
    monkeypatch.setenv("AGENTLEDGER_INGEST_MAX_LINE_BYTES", "10")
    monkeypatch.setenv("AGENTLEDGER_INGEST_MAX_JSON_DEPTH", "1")
    monkeypatch.setenv("AGENTLEDGER_INGEST_ALLOW_SYMLINKS", "Yes")
    assert load_ingest_settings().max_line_bytes == 10
    options = load_ingest_options()
    assert options.max_span_age_days == 30
    assert options.threads == 1
    assert (options.limits.max_line_bytes, options.limits.max_json_depth) == (1024, 2)
    assert options.limits.allow_symlinks is True
    assert options.mapping.fields["department"] == ("team.department",)
    assert options.mapping.source == str(mapping)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("AGENTLEDGER_INGEST_THREADS", "two", "AGENTLEDGER_INGEST_THREADS='two' is not an integer"),
        ("AGENTLEDGER_MAX_SPAN_AGE_DAYS", "1.5", "AGENTLEDGER_MAX_SPAN_AGE_DAYS='1.5' is not an integer"),
        (
            "AGENTLEDGER_INGEST_ALLOW_SYMLINKS",
            "maybe",
            "AGENTLEDGER_INGEST_ALLOW_SYMLINKS='maybe'; expected true or false",
        ),
    ],
)
def test_a_bad_value_names_its_variable(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(".", r"\.")):
        load_ingest_options()


def test_a_missing_mapping_file_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv("AGENTLEDGER_ATTRIBUTE_MAPPING", str(tmp_path / "absent.yml"))
    with pytest.raises(FileNotFoundError, match="AGENTLEDGER_ATTRIBUTE_MAPPING points to"):
        load_ingest_options()
