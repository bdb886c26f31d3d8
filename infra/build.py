"""Stage the Lambda code and build the dependency layer for `Code.from_asset` (no Docker): `python -m infra.build`.

- code: a copy of the `functions/` package without local mode, into `<lambda asset dir>/functions/`;
- layer: the runtime dependencies pinned in pyproject.toml, installed as manylinux x86_64 / CPython 3.12 wheels into
  `<layer asset dir>/python/`; skipped when the stamp file records the same install.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import distributions
from pathlib import Path

from infra.config import PROJECT_ROOT, InfraConfig, cdk_json_context

FUNCTIONS_DIR = PROJECT_ROOT / "functions"
EXCLUDED_PACKAGES = ("local",)  # functions/local is local mode: moto server, front door, worker loop
EXCLUDED_FILES = ("__pycache__", "*.pyc")

# The Lambda runtime ships the AWS SDK; the layer must not shadow it (aws-xray-sdk pulls botocore in).
RUNTIME_PROVIDED = frozenset({"boto3", "botocore", "s3transfer"})
EXTRAS = {"aws-lambda-powertools": "tracer"}  # Tracer needs aws-xray-sdk
PIP_PLATFORM_ARGS = (
    "--platform",
    "manylinux2014_x86_64",
    "--implementation",
    "cp",
    "--python-version",
    "3.12",
    "--only-binary=:all:",
)
STAMP_FILE = ".requirements.sha256"

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(?:\[([^\]]*)\])?\s*(.*)$")


def stage_code(dest: Path) -> Path:
    """Copy `functions/` (without local mode and bytecode) to `dest/functions`, replacing what was there."""
    target = dest / "functions"
    if target.exists():
        shutil.rmtree(target)
    ignore_files = shutil.ignore_patterns(*EXCLUDED_FILES)

    def ignore(directory: str, names: list[str]) -> set[str]:
        skipped = set(ignore_files(directory, names))
        if Path(directory) == FUNCTIONS_DIR:
            skipped |= set(EXCLUDED_PACKAGES) & set(names)
        return skipped

    shutil.copytree(FUNCTIONS_DIR, target, ignore=ignore)
    return target


def layer_requirements(pyproject: Path = PROJECT_ROOT / "pyproject.toml") -> list[str]:
    """The pinned `[project].dependencies`, without what the runtime provides, with the extras the functions need."""
    requirements = []
    for line in tomllib.loads(pyproject.read_text())["project"]["dependencies"]:
        match = _REQUIREMENT.match(line)
        if match is None:
            raise ValueError(f"cannot parse dependency {line!r} in {pyproject}")
        name, extras, rest = match.groups()
        if _normalize(name) in RUNTIME_PROVIDED:
            continue
        wanted = {extra.strip() for extra in (extras or "").split(",") if extra.strip()}
        if extra := EXTRAS.get(_normalize(name)):
            wanted.add(extra)
        requirements.append(f"{name}[{','.join(sorted(wanted))}]{rest}" if wanted else f"{name}{rest}")
    return requirements


def build_layer(dest: Path, requirements: list[str] | None = None) -> bool:
    """Install the requirements into `dest/python`; return False when the stamp shows it is already done."""
    requirements = layer_requirements() if requirements is None else requirements
    target = dest / "python"
    stamp = dest / STAMP_FILE
    digest = hashlib.sha256(json.dumps([*PIP_PLATFORM_ARGS, *requirements]).encode()).hexdigest()
    if target.is_dir() and stamp.is_file() and stamp.read_text().strip() == digest:
        return False
    if target.exists():
        shutil.rmtree(target)
    stamp.unlink(missing_ok=True)
    target.mkdir(parents=True)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-compile",  # bytecode compiled here would be for this interpreter, not the Lambda runtime's
            "--target",
            str(target),
            *PIP_PLATFORM_ARGS,
            "--upgrade",
            *requirements,
        ],
        check=True,
    )
    _remove_distributions(target, RUNTIME_PROVIDED)
    stamp.write_text(digest + "\n")
    return True


def _remove_distributions(site: Path, names: frozenset[str]) -> None:
    """Delete the files the installed distributions `names` recorded, then the folders this leaves empty."""
    site = site.resolve()
    emptied: set[Path] = set()
    for dist in distributions(path=[str(site)]):
        if _normalize(dist.metadata["Name"]) not in names:
            continue
        for file in dist.files or ():
            path = Path(str(dist.locate_file(file))).resolve()
            if path.is_relative_to(site) and path != site:
                path.unlink(missing_ok=True)
                emptied.update(parent for parent in path.parents if parent.is_relative_to(site) and parent != site)
    for directory in sorted(emptied, key=lambda p: len(p.parts), reverse=True):
        if directory.is_dir() and not any(directory.iterdir()):
            directory.rmdir()


def _normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main() -> None:
    config = InfraConfig.from_mapping(cdk_json_context())
    print(f"staged {stage_code(config.lambda_asset_dir)}")
    built = build_layer(config.layer_asset_dir)
    print(f"{'built' if built else 'up to date'}: {config.layer_asset_dir / 'python'}")


if __name__ == "__main__":
    main()
