"""scripts/check_python_deps.py: a module training/ imports must be installable from a listed Debian package."""
import pathlib
import subprocess
import sys

SCRIPT = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "check_python_deps.py"


def run_check(root: pathlib.Path, apt_list: str, source: str) -> subprocess.CompletedProcess:
    (root / "scripts").mkdir()
    (root / "scripts" / "apt-packages.txt").write_text(apt_list)
    (root / "training" / "mypkg").mkdir(parents=True)
    (root / "training" / "mypkg" / "__init__.py").write_text("")
    (root / "training" / "helper.py").write_text("")
    (root / "training" / "tool.py").write_text(source)
    return subprocess.run([sys.executable, str(SCRIPT), "--root", str(root)], capture_output=True, text=True)


def test_passes_when_every_third_party_import_is_listed_and_importable(tmp_path):
    out = run_check(tmp_path, "python3-numpy py=numpy  # arrays\n",
                    "import json\nimport numpy as np\nfrom mypkg import x\nimport helper\nfrom . import rel\n")
    assert out.returncode == 0, out.stderr
    assert "all 1 third-party modules" in out.stdout and "(numpy)" in out.stdout


def test_names_an_import_that_no_listed_package_provides(tmp_path):
    out = run_check(tmp_path, "python3-numpy py=numpy\n", "import numpy\nimport yaml\n")
    assert out.returncode == 1
    assert "yaml (imported by training/tool.py) is not listed in scripts/apt-packages.txt" in out.stderr


def test_names_the_debian_package_of_a_listed_module_that_is_missing(tmp_path):
    out = run_check(tmp_path, "python3-nosuchthing py=nosuchthing_xyz  # test\n", "from nosuchthing_xyz.sub import y\n")
    assert out.returncode == 1
    assert "nosuchthing_xyz (imported by training/tool.py) cannot be imported: install the Debian package python3-nosuchthing" in out.stderr
