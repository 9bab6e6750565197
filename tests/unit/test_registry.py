from __future__ import annotations

import pytest

from clusterwatch.core import registry


def test_unknown_name_lists_known_ones(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.REGISTRY, "sink", {"file": "x:y", "influxdb1": "x:z"})
    with pytest.raises(registry.UnknownPluginError) as err:
        registry.load("sink", "influx")
    assert str(err.value) == "unknown sink 'influx' (known: file, influxdb1)"


def test_load_imports_only_when_asked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(registry.REGISTRY, "parser", {"json": "json:loads", "mod": "json"})
    import json

    assert registry.load("parser", "json") is json.loads
    assert registry.load("parser", "mod") is json
