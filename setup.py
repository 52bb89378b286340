"""The build hook: the gettext catalogs are compiled into the package, so that `pip install .`
speaks French with no other step. Metadata is in pyproject.toml; babel is a build requirement."""

import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
LOCALES = ROOT / "locales"


def _compiling():
    """locales.compiling, from the source tree (it needs babel only)."""
    sys.path.insert(0, str(ROOT))
    try:
        from locales import compiling
    finally:
        sys.path.remove(str(ROOT))
    return compiling


class BuildWithCatalogs(build_py):
    """Copies the packages, then writes each locales/<lang>/LC_MESSAGES/*.mo compiled from its
    .po: into the build folder (the wheel), or beside the .po for an editable install."""

    def _targets(self) -> list[tuple[Path, Path]]:
        compiling = _compiling()
        build = LOCALES if self.editable_mode else Path(self.build_lib) / "locales"
        return [(po, compiling.mo_for(build / po.relative_to(LOCALES)))
                for po in compiling.catalogs(LOCALES)]

    def run(self) -> None:
        super().run()
        compiling = _compiling()
        for po, mo in self._targets():
            compiling.compile_po(po, mo)
            self.announce(f"compiled {po.relative_to(ROOT)} -> {mo}", level=2)

    def get_outputs(self, include_bytecode: bool = True) -> list[str]:
        extra = [] if self.editable_mode else [str(mo) for _po, mo in self._targets()]
        return super().get_outputs(include_bytecode) + extra


setup(cmdclass={"build_py": BuildWithCatalogs})
