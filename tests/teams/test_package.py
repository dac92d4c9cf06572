"""The Teams app package: a manifest valid against Microsoft's published schema, and both icons."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import jsonschema
import pytest

from teambot.cli import main
from teambot.teams.package import MANIFEST_DIR, PackageError, build_package, png_size
from tests.published_schemas import schema_path

APP = "6f1d3c52-8a4e-4b7f-9a51-2c7e0d9b4a12"


def _schema_for(manifest: dict) -> dict:
    """The schema of the version the manifest declares (v1.17 ships in ../shared/schemas)."""
    path = schema_path(f"teams-manifest.schema.v{manifest['manifestVersion']}.json")
    assert path.exists(), f"no schema for manifest version {manifest['manifestVersion']} at {path}"
    return json.loads(path.read_text())


def test_checked_in_manifest_is_valid() -> None:
    manifest = json.loads((MANIFEST_DIR / "manifest.json").read_text())
    jsonschema.validate(manifest, _schema_for(manifest))
    lists = {tuple(c["scopes"]): [x["title"] for x in c["commands"]] for c in manifest["bots"][0]["commandLists"]}
    assert set(lists) == {("personal",), ("team",), ("groupChat",)} and "recover home" in lists[("personal",)]
    assert all(len(titles) <= 10 for titles in lists.values()) and manifest["validDomains"]
    commands = manifest["composeExtensions"][0]["commands"]
    assert commands[0]["id"] == "openCase" and commands[0]["context"] == ["message"]


def test_package_from_the_cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MICROSOFT_APP_ID", APP)
    out = tmp_path / "teams.zip"
    assert main(["teams-package", "-o", str(out), "--version", "1.2.3"]) == 0
    with zipfile.ZipFile(out) as zf:
        assert sorted(zf.namelist()) == ["color.png", "manifest.json", "outline.png"]
        manifest = json.loads(zf.read("manifest.json"))
        assert png_size(zf.read("color.png")) == (192, 192)
        assert png_size(zf.read("outline.png")) == (32, 32)
    jsonschema.validate(manifest, _schema_for(manifest))
    assert manifest["bots"][0]["botId"] == APP and manifest["composeExtensions"][0]["botId"] == APP
    assert manifest["version"] == "1.2.3"


def test_package_refuses_without_a_real_app_id(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    monkeypatch.delenv("MICROSOFT_APP_ID", raising=False)
    assert main(["teams-package", "-o", str(tmp_path / "x.zip")]) == 2
    assert "Application (client) ID" in capsys.readouterr().err
    with pytest.raises(PackageError, match="not your bot's app id"):
        build_package(tmp_path / "y.zip", "not-a-guid")


def test_wrong_icon_size_is_refused(tmp_path: Path) -> None:
    for name in ("manifest.json", "outline.png"):
        (tmp_path / name).write_bytes((MANIFEST_DIR / name).read_bytes())
    (tmp_path / "color.png").write_bytes((MANIFEST_DIR / "outline.png").read_bytes())
    with pytest.raises(PackageError, match="Teams needs 192x192"):
        build_package(tmp_path / "x.zip", APP, manifest_dir=tmp_path)
