"""The license declaration of pyproject.toml (PEP 639) points at files that exist.

Every wheel and the sdist carry the files named by ``license-files``: nmfkit's LICENSE and the
notices of the OpenMP runtimes that the wheels bundle. A glob that matches nothing, or a notice
that does not name its runtime's license, would ship a wheel without the notice it owes.
ci/test_wheel.sh checks the repaired wheel itself.
"""

import glob
import os

import pytest

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PYPROJECT = os.path.join(ROOT, "pyproject.toml")

# Each bundled runtime's notice and the SPDX expression it must state.
NOTICES = {
    "licenses/libgomp.txt": "GPL-3.0-or-later WITH GCC-exception-3.1",
    "licenses/libomp.txt": "Apache-2.0 WITH LLVM-exception",
    "licenses/vcomp140.txt": "vcomp140.dll",
}

if not os.path.exists(PYPROJECT):  # tests run from an installed wheel without the checkout
    pytest.skip("pyproject.toml is not next to the tests", allow_module_level=True)


def project():
    with open(PYPROJECT, "rb") as f:
        return tomllib.load(f)["project"]


def test_license_is_an_spdx_expression_without_a_license_classifier():
    meta = project()
    assert meta["license"] == "BSD-3-Clause"
    assert not [c for c in meta.get("classifiers", []) if c.startswith("License ::")]


def test_every_license_files_pattern_matches_a_file():
    patterns = project()["license-files"]
    for pattern in patterns:
        assert glob.glob(os.path.join(ROOT, pattern)), f"license-files {pattern!r} matches nothing"
    matched = {
        os.path.relpath(path, ROOT).replace(os.sep, "/")
        for pattern in patterns
        for path in glob.glob(os.path.join(ROOT, pattern))
    }
    assert "LICENSE" in matched
    assert set(NOTICES) <= matched


def test_license_names_bsd_3_clause():
    with open(os.path.join(ROOT, "LICENSE"), encoding="utf-8") as f:
        text = f.read()
    assert "BSD 3-Clause License" in text
    assert "the nmfkit developers" in text


@pytest.mark.parametrize("notice, names", sorted(NOTICES.items()))
def test_runtime_notice_names_its_license(notice, names):
    with open(os.path.join(ROOT, notice), encoding="utf-8") as f:
        text = f.read()
    assert names in text
    assert "https://" in text  # where the full license text lives
