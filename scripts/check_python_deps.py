"""Checks that every Python module training/ imports can be imported, before the long tests start.

Third-party modules must come from a Debian package listed in scripts/apt-packages.txt, which
scripts/setup.sh installs, so a module installed by hand on one machine cannot hide a missing install
step. With --table it prints, for each module, the file it loads from, the Debian package `dpkg -S`
names for that file, and whether setup.sh installs that package.

usage: $PYTHON scripts/check_python_deps.py [--table] [--root DIR]
"""
from __future__ import annotations

import ast
import importlib.util
import pathlib
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent


def read_apt_list(root: pathlib.Path) -> tuple[list[str], dict[str, str]]:
    packages: list[str] = []
    module_to_package: dict[str, str] = {}
    for raw in (root / "scripts" / "apt-packages.txt").read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].split()
        if not line:
            continue
        package, *rest = line
        packages.append(package)
        for field in rest:
            if field.startswith("py="):
                for module in field[3:].split(","):
                    module_to_package[module] = package
    return packages, module_to_package


def local_names(training: pathlib.Path) -> set[str]:
    """Modules that live in training/ itself (scripts, packages, test helpers)."""
    names = set()
    for path in training.rglob("*.py"):
        names.add(path.stem)
    for path in training.rglob("__init__.py"):
        names.add(path.parent.name)
    return names


def imported_modules(training: pathlib.Path) -> dict[str, list[str]]:
    """Top-level names of absolute imports in training/, with the files that import them."""
    found: dict[str, list[str]] = {}
    for path in sorted(training.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name.split(".")[0], []).append(str(path.relative_to(training.parent)))
    return found


def third_party(found: dict[str, list[str]], training: pathlib.Path) -> dict[str, list[str]]:
    skip = set(sys.stdlib_module_names) | local_names(training) | {"__future__"}
    return {name: files for name, files in sorted(found.items()) if name not in skip}


def owning_package(origin: str) -> str:
    out = subprocess.run(["dpkg", "-S", origin], capture_output=True, text=True)
    if out.returncode != 0:
        return "(no Debian package: installed by hand?)"
    return out.stdout.split(":", 1)[0].strip()


def main(argv: list[str]) -> int:
    root = pathlib.Path(argv[argv.index("--root") + 1]).resolve() if "--root" in argv else ROOT
    packages, module_to_package = read_apt_list(root)
    modules = third_party(imported_modules(root / "training"), root / "training")
    problems = []
    rows = []
    for name, files in modules.items():
        package = module_to_package.get(name)
        spec = importlib.util.find_spec(name)
        if package is None:
            problems.append(f"{name} (imported by {files[0]}) is not listed in scripts/apt-packages.txt: "
                            "add the Debian package that provides it, with py={name}")
        elif spec is None:
            problems.append(f"{name} (imported by {files[0]}) cannot be imported: install the Debian package "
                            f"{package} (bash scripts/setup.sh does)")
        if spec is not None and "--table" in argv:
            origin = spec.origin or next(iter(spec.submodule_search_locations or []), "?")
            dpkg = owning_package(origin)
            rows.append((name, origin, dpkg, "yes" if dpkg in packages else "NO"))
    if "--table" in argv:
        header = ("module", "loaded from", "dpkg -S", "installed by setup.sh")
        widths = [max(len(r[i]) for r in rows + [header]) for i in range(4)]
        for row in [header, tuple("-" * w for w in widths), *rows]:
            print("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip())
        problems += [f"{r[0]} loads from {r[1]}, which setup.sh does not install ({r[2]})" for r in rows if r[3] != "yes"]
    for p in problems:
        print(f"check_python_deps: {p}", file=sys.stderr)
    if not problems:
        print(f"check_python_deps: all {len(modules)} third-party modules of training/ import "
              f"({', '.join(modules)})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
