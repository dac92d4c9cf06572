"""The build step pyproject.toml cannot say: compile the gettext catalogues (.po -> .mo).

A wheel gets a `.mo` beside each `.po`; an editable install gets them in the source tree
(they are git-ignored: the `.po` is the source, and `teambot.core.i18n` compiles from it at
run time whenever a `.mo` is missing or older).
"""

from __future__ import annotations

import io
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py


def _compile(po: Path, mo: Path) -> None:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    with po.open("rb") as f:
        catalog = read_po(f, locale=po.parent.parent.name, domain=po.stem)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    mo.parent.mkdir(parents=True, exist_ok=True)
    mo.write_bytes(out.getvalue())


class BuildWithCatalogues(build_py):
    """build_py, then every teambot/locale/*/LC_MESSAGES/*.po compiled next to where it lands."""

    def run(self) -> None:
        super().run()
        here = Path(__file__).resolve().parent
        target = here if getattr(self, "editable_mode", False) else Path(self.build_lib)
        for po in sorted((here / "teambot" / "locale").glob("*/LC_MESSAGES/*.po")):
            _compile(po, target / po.relative_to(here).with_suffix(".mo"))


setup(cmdclass={"build_py": BuildWithCatalogues})
