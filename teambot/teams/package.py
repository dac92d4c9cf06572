"""Builds the Teams app package (the zip you upload or sideload): manifest.json plus both icons.

The checked-in manifest carries a placeholder bot id; the package gets the real
MICROSOFT_APP_ID, so one manifest serves every deployment.
"""

from __future__ import annotations

import json
import re
import struct
import zipfile
from pathlib import Path
from typing import Any

MANIFEST_DIR = Path(__file__).resolve().parents[2] / "manifests" / "teams"
PLACEHOLDER = "00000000-0000-0000-0000-000000000000"
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
ICON_SIZES = {"color": (192, 192), "outline": (32, 32)}


class PackageError(Exception):
    """The package can't be built; the message says what to fix."""


def png_size(data: bytes) -> tuple[int, int]:
    if data[:8] != b"\x89PNG\r\n\x1a\n" or data[12:16] != b"IHDR":
        raise PackageError("not a PNG file")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def manifest_for(
    app_id: str, manifest_dir: Path = MANIFEST_DIR, version: str | None = None
) -> dict[str, Any]:
    if not GUID.match(app_id or "") or app_id == PLACEHOLDER:
        raise PackageError(
            f"MICROSOFT_APP_ID {app_id!r} is not your bot's app id. Set it to the Application (client) ID "
            "of your Azure Bot registration (a GUID), or pass --app-id."
        )
    manifest = json.loads((manifest_dir / "manifest.json").read_text(encoding="utf-8"))
    for bot in manifest.get("bots", []):
        bot["botId"] = app_id
    for extension in manifest.get("composeExtensions", []):
        extension["botId"] = app_id
    manifest.setdefault("webApplicationInfo", {"id": app_id, "resource": f"api://botid-{app_id}"})
    if version:
        manifest["version"] = version
    return manifest


def build_package(
    output: Path, app_id: str, manifest_dir: Path = MANIFEST_DIR, version: str | None = None
) -> Path:
    manifest = manifest_for(app_id, manifest_dir, version)
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("manifest.json", json.dumps(manifest, indent=2, ensure_ascii=False))
        for kind, size in ICON_SIZES.items():
            name = manifest["icons"][kind]
            data = (manifest_dir / name).read_bytes()
            try:
                actual = png_size(data)
            except PackageError:
                raise PackageError(f"the {kind} icon {name} is not a PNG") from None
            if actual != size:
                raise PackageError(
                    f"the {kind} icon {name} is {actual[0]}x{actual[1]}; Teams needs {size[0]}x{size[1]}"
                )
            zf.writestr(name, data)
    return output
