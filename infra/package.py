"""The Lambda zips, built here rather than by a plugin: `python -m infra.package [OUT_DIR]`.

Three bundles, each one self-contained zip that a function names as its artifact in serverless.yml:
- `core`: `functions/`, `shared/` and the light runtime dependencies. Every function but those below.
- `sealing`: core + cryptography and joserfc: the functions that seal or unseal consent records
  (AES-GCM) or sign receipts (ES256).
- `images`: core + Pillow and pillow-heif: the one function that decodes credential images.
A library costs a function its download and unzip at every cold start even when never imported,
and Pillow with pillow-heif is three quarters of the old single zip; cryptography most of the rest.
Zips per bundle rather than layers: each function's zip is all it runs (tested as such), there is no
layer version to keep in step with the code, and layers would save only upload bytes.

Wheels are chosen for the Lambda platform whatever the host: pip runs with `--only-binary=:all:`,
CPython 3.12 and the manylinux tags that Amazon Linux 2023 (glibc 2.34, x86_64) runs, so a macOS
or ARM laptop packages what Lambda loads. The versions are the ones the tests ran against
(`infra.deploy.closure`). Every module is compiled to bytecode by the runtime's Python
(`PACKAGING_PYTHON`, 3.12), hash-based and unchecked, so a cold start reads `.pyc` files instead
of compiling (the zip's timestamps do not matter, and /var/task is read-only anyway).
The page templates are compiled to Python modules too (`shared.pages.compile_templates`, by the
Jinja2 that the zips ship), so a page function's first page loads bytecode rather than parsing its
template. `manifest.json` beside the zips lists each bundle's wheels and sizes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from infra import deploy
from shared.pages import COMPILED_TEMPLATES

ROOT = deploy.ROOT
OUT = ROOT / "build" / "lambda"
CODE = ("functions", "shared")
RUNTIME_VERSION = (3, 12)
# Amazon Linux 2023 (the python3.12 runtime) has glibc 2.34: any manylinux wheel up to it runs.
GLIBC_MAX = 34
PLATFORMS = [f"manylinux_2_{minor}_x86_64" for minor in range(GLIBC_MAX, 16, -1)] + ["manylinux2014_x86_64"]
# The bundles beyond core, by the distributions they add (closed over their own dependencies).
EXTRAS: dict[str, tuple[str, ...]] = {
    "sealing": ("cryptography", "joserfc"),
    "images": ("pillow", "pillow-heif"),
}
BUNDLES = ("core", *EXTRAS)
# The top-level modules each extra brings, as a function that lacks it must never import them.
EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "sealing": ("cryptography", "joserfc", "cffi", "_cffi_backend"),
    "images": ("PIL", "pillow_heif"),
}
FIXED_TIME = (2020, 1, 1, 0, 0, 0)  # zip entries' time: the same inputs make the same zip


def partition(pyproject: Path = deploy.PYPROJECT) -> dict[str, dict[str, str]]:
    """Each bundle's pinned distributions (name -> version): core's, then what each extra adds."""
    roots = deploy.runtime_dependencies(pyproject)
    extra_names = {name for names in EXTRAS.values() for name in names}
    core = deploy.closure([r for r in roots if deploy._canonical(r.name) not in extra_names])
    found = {"core": core}
    for bundle, names in EXTRAS.items():
        wanted = [r for r in roots if deploy._canonical(r.name) in names]
        if len(wanted) != len(names):
            raise SystemExit(f"pyproject.toml no longer lists all of {names} (bundle {bundle})")
        found[bundle] = {k: v for k, v in deploy.closure(wanted).items() if k not in core}
    return found


def _pip_install(pins: dict[str, str], target: Path) -> None:
    if not pins:
        target.mkdir(parents=True, exist_ok=True)
        return
    platforms = [arg for tag in PLATFORMS for arg in ("--platform", tag)]
    command = [
        sys.executable,
        "-m",
        "pip",
        "install",
        "--quiet",
        "--disable-pip-version-check",
        "--no-deps",
        "--no-compile",
        "--only-binary=:all:",
        *platforms,
        "--python-version",
        ".".join(map(str, RUNTIME_VERSION)),
        "--implementation",
        "cp",
        "--target",
        str(target),
        *(f"{name}=={version}" for name, version in pins.items()),
    ]
    subprocess.run(command, check=True)
    shutil.rmtree(target / "bin", ignore_errors=True)  # console scripts: nothing runs them


def _copy_code(target: Path, pins: dict[str, str]) -> None:
    for package in CODE:
        shutil.copytree(
            ROOT / package,
            target / package,
            ignore=shutil.ignore_patterns("__pycache__", "*.py[co]", COMPILED_TEMPLATES.name),
        )
    _compile_templates(target / COMPILED_TEMPLATES.relative_to(ROOT), pins)


def _compile_templates(target: Path, pins: dict[str, str]) -> None:
    """The templates as modules, by this Jinja2, which must be the one the zip ships: a compiled
    template calls into the runtime of the Jinja2 that compiled it."""
    import jinja2

    from shared.pages import compile_templates

    if pins.get("jinja2") != jinja2.__version__:
        raise SystemExit(
            f"Jinja2 {jinja2.__version__} here, {pins.get('jinja2')} in the zip: reinstall .venv"
        )
    compile_templates(target)


def runtime_python() -> str:
    python = os.environ.get("PACKAGING_PYTHON") or sys.executable
    probe = "import sys; print(*sys.version_info[:2])"
    found = tuple(
        int(v)
        for v in subprocess.run(
            [python, "-c", probe], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    if found != RUNTIME_VERSION:
        raise SystemExit(f"{python} is Python {found}: the bytecode must be compiled by the runtime's 3.12")
    return python


def _compile(python: str, folder: Path) -> None:
    """Bytecode for every module, as the runtime's Python writes it, paths as Lambda sees them."""
    subprocess.run(
        [
            python,
            "-m",
            "compileall",
            "-q",
            "-j",
            "0",
            "--invalidation-mode",
            "unchecked-hash",
            "-s",
            str(folder),
            "-p",
            "/var/task",
            str(folder),
        ],
        check=True,
    )


def _zip(folders: list[Path], path: Path) -> None:
    entries: dict[str, Path] = {}
    for folder in folders:
        for file in folder.rglob("*"):
            if file.is_file():
                entries.setdefault(file.relative_to(folder).as_posix(), file)
    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        for name in sorted(entries):
            info = zipfile.ZipInfo(name, FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = (0o755 if name.endswith(".so") or ".so." in name else 0o644) << 16
            archive.writestr(info, entries[name].read_bytes(), compresslevel=9)


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.rglob("*") if f.is_file())


def build(out: Path = OUT) -> dict[str, dict[str, object]]:
    python = runtime_python()
    bundles = partition()
    manifest: dict[str, dict[str, object]] = {}
    with tempfile.TemporaryDirectory(prefix="hcp-package-") as scratch:
        staged = {bundle: Path(scratch) / bundle for bundle in BUNDLES}
        _copy_code(staged["core"], bundles["core"])
        for bundle, pins in bundles.items():
            _pip_install(pins, staged[bundle])
            _compile(python, staged[bundle])
        for bundle in BUNDLES:
            folders = [staged["core"]] if bundle == "core" else [staged["core"], staged[bundle]]
            _zip(folders, out / f"{bundle}.zip")
            manifest[bundle] = {
                "zip_bytes": (out / f"{bundle}.zip").stat().st_size,
                "unzipped_bytes": sum(_size(folder) for folder in folders),
                "distributions": {**bundles["core"], **(bundles[bundle] if bundle != "core" else {})},
                "wheels": sorted(
                    p.name.removesuffix(".dist-info") + " " + _wheel_tags(p)
                    for folder in folders
                    for p in folder.glob("*.dist-info")
                ),
            }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1, sort_keys=True) + "\n")
    return manifest


def _wheel_tags(dist_info: Path) -> str:
    lines = (dist_info / "WHEEL").read_text().splitlines()
    return ",".join(line.split(":", 1)[1].strip() for line in lines if line.startswith("Tag:"))


def main(argv: list[str]) -> int:
    out = Path(argv[0]).resolve() if argv else OUT
    manifest = build(out)
    for bundle, facts in manifest.items():
        print(
            f"{bundle:8} {int(str(facts['zip_bytes'])) / 1e6:5.1f} MB zipped,"
            f" {int(str(facts['unzipped_bytes'])) / 1e6:5.1f} MB unzipped -> {out / bundle}.zip"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
