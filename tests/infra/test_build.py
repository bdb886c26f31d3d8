"""infra.build: code staging and the dependency layer, without the network (pip is replaced by a fake)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from infra import build
from infra.config import PROJECT_ROOT, InfraConfig, cdk_json_context


def test_stage_code_copies_all_of_functions_without_bytecode(tmp_path: Path) -> None:
    # Given a destination holding a file from an earlier build
    stale = tmp_path / "functions" / "removed.py"
    stale.parent.mkdir()
    stale.write_text("")

    # When staging the code
    staged = build.stage_code(tmp_path)

    # Then it holds every module (and data file) of functions/, and nothing else
    expected = {
        path.relative_to(PROJECT_ROOT / "functions")
        for path in (PROJECT_ROOT / "functions").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc"
    }
    assert staged == tmp_path / "functions"
    assert {path.relative_to(staged) for path in staged.rglob("*") if path.is_file()} == expected
    assert (staged / "api" / "handler.py").is_file()


TOOLING_IMPORTS = re.compile(r"^\s*(?:from|import)\s+(local_mode|cli|bench|tests|moto|flask|typer|rich)\b", re.M)


def test_deployed_code_imports_no_tooling() -> None:
    # Given every module of functions/ (what ships to Lambda)
    modules = sorted((PROJECT_ROOT / "functions").rglob("*.py"))

    # Then none imports local mode, the CLI, the tests or their libraries, which the layer does not hold
    offenders = {
        str(path.relative_to(PROJECT_ROOT)): match.group(1)
        for path in modules
        if (match := TOOLING_IMPORTS.search(path.read_text()))
    }
    assert modules and offenders == {}


def test_stage_code_ships_the_web_console(tmp_path: Path) -> None:
    # Given the console's page, scripts and styles next to its module
    console = PROJECT_ROOT / "functions" / "api" / "console"
    assets = {path.name for path in console.iterdir() if path.suffix in {".html", ".js", ".css"}}
    assert {"index.html", "console.js", "console.css"} <= assets

    # When staging the code
    staged = build.stage_code(tmp_path) / "api" / "console"

    # Then every one of them is in the Lambda asset, byte for byte, next to the module that serves them
    assert (staged / "__init__.py").is_file()
    for name in assets:
        assert (staged / name).read_bytes() == (console / name).read_bytes(), name


def test_layer_requirements_are_the_pinned_runtime_dependencies() -> None:
    # Given pyproject.toml's [project].dependencies
    # When deriving the layer's requirements
    requirements = build.layer_requirements()

    # Then boto3 (in the runtime) is left out, the Tracer extra is added, and every pin is kept
    assert not [r for r in requirements if r.startswith("boto3")]
    assert [r for r in requirements if r.startswith("aws-lambda-powertools[tracer]==")]
    assert all("==" in requirement for requirement in requirements)


def test_layer_requirements_merge_extras(tmp_path: Path) -> None:
    # Given dependencies with existing extras and environment markers
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text(
        "[project]\ndependencies = ["
        '"aws_lambda_powertools[parser]==1.0", "requests==2.0 ; python_version >= \'3.11\'", "Boto3==1.0"]\n'
    )

    # When deriving the layer's requirements
    requirements = build.layer_requirements(pyproject)

    # Then extras are merged, markers kept, and the SDK dropped whatever its spelling
    assert requirements == ["aws_lambda_powertools[parser,tracer]==1.0", "requests==2.0 ; python_version >= '3.11'"]


class FakePip:
    """Stands in for `pip install --target`: installs `requests`, and `botocore` the way aws-xray-sdk drags it in."""

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def __call__(self, args: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(args)
        target = Path(args[args.index("--target") + 1])
        for name, module in (("requests", "requests"), ("botocore", "botocore")):
            (target / module).mkdir()
            (target / module / "__init__.py").write_text("")
            info = target / f"{name}-1.0.dist-info"
            info.mkdir()
            (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 1.0\n")
            (info / "RECORD").write_text(f"{module}/__init__.py,,\n{info.name}/METADATA,,\n{info.name}/RECORD,,\n")
        return subprocess.CompletedProcess(args, 0)


@pytest.fixture
def fake_pip(monkeypatch: pytest.MonkeyPatch) -> FakePip:
    fake = FakePip()
    monkeypatch.setattr(subprocess, "run", fake)  # (what infra.build runs pip with)
    return fake


def test_build_layer_installs_for_the_lambda_platform_without_the_sdk(tmp_path: Path, fake_pip: FakePip) -> None:
    # Given an empty layer folder
    # When building the layer
    built = build.build_layer(tmp_path, ["requests==1.0"])

    # Then pip targets python/ with manylinux aarch64 (arm64, the default) CPython 3.12 wheels, the architecture is
    # recorded, and the SDK pip pulled in is removed
    assert built is True
    (args,) = fake_pip.calls
    assert args[args.index("--target") + 1] == str(tmp_path / "python")
    assert {"--platform", "manylinux2014_aarch64", "--python-version", "3.12", "--only-binary=:all:"} <= set(args)
    assert (tmp_path / ".architecture").read_text().strip() == "arm64"
    assert args[-1] == "requests==1.0"
    assert sorted(path.name for path in (tmp_path / "python").iterdir()) == ["requests", "requests-1.0.dist-info"]


def test_build_layer_skips_pip_while_the_stamp_matches(tmp_path: Path, fake_pip: FakePip) -> None:
    # Given a layer built for some requirements
    build.build_layer(tmp_path, ["requests==1.0"])

    # When building again for the same, then for other requirements
    again = build.build_layer(tmp_path, ["requests==1.0"])
    changed = build.build_layer(tmp_path, ["requests==2.0"])

    # Then pip runs only for the change
    assert (again, changed) == (False, True)
    assert [args[-1] for args in fake_pip.calls] == ["requests==1.0", "requests==2.0"]


def test_build_writes_to_the_asset_dirs_the_stack_reads() -> None:
    # Given cdk.json's context
    # When reading the configuration `python -m infra.build` and `app.py` share
    config = InfraConfig.from_mapping(cdk_json_context())

    # Then the assets live under .build/ in the project
    assert config.lambda_asset_dir == PROJECT_ROOT / ".build" / "lambda"
    assert config.layer_asset_dir == PROJECT_ROOT / ".build" / "layer"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("postbox:logRetentionDays", 31),
        ("postbox:apiTimeoutSeconds", 31),
        ("postbox:apiMemoryMb", "lots"),
        ("postbox:tracing", "yes"),
        ("postbox:tracing", 1),
        ("postbox:tracing", None),
        ("postbox:destinationAllowCidrs", "10.0.0.0/33"),
        ("postbox:destinationAllowCidrs", "10.0.0.0/8,intranet"),
    ],
)
def test_config_rejects_invalid_context(key: str, value: object) -> None:
    # Given cdk.json's context with one invalid value
    context = {**cdk_json_context(), key: value}

    # When / Then reading the configuration fails, naming the key
    with pytest.raises(ValueError, match=key.removeprefix("postbox:")):
        InfraConfig.from_mapping(context)


def test_config_accepts_numbers_passed_as_cli_strings() -> None:
    # Given a value passed as `cdk -c postbox:apiMemoryMb=1024`
    context = {**cdk_json_context(), "postbox:apiMemoryMb": "1024"}

    # When reading the configuration
    config = InfraConfig.from_mapping(context)

    # Then it is a number
    assert config.api_memory_mb == 1024


def test_config_leaves_tracing_off_by_default() -> None:
    # Given cdk.json's context
    # When reading the configuration
    config = InfraConfig.from_mapping(cdk_json_context())

    # Then X-Ray tracing is off: operators opt in
    assert config.tracing is False


@pytest.mark.parametrize(
    ("value", "expected"),
    [(True, True), (False, False), ("true", True), ("false", False), ("TRUE", True), ("False", False)],
)
def test_config_accepts_booleans_and_cli_strings(value: object, expected: bool) -> None:
    # Given tracing set in cdk.json (a JSON boolean) or as `cdk -c postbox:tracing=true` (a string)
    context = {**cdk_json_context(), "postbox:tracing": value}

    # When reading the configuration
    config = InfraConfig.from_mapping(context)

    # Then it is the boolean the value spells
    assert config.tracing is expected


def test_the_runtime_interpreter_is_never_another_version(monkeypatch: pytest.MonkeyPatch) -> None:
    # Given LAMBDA_PYTHON naming this (3.11) interpreter
    monkeypatch.setenv("LAMBDA_PYTHON", sys.executable)

    # When looking for the Lambda runtime's Python
    found = build.runtime_interpreter()

    # Then it is not taken: only a 3.12 compiles the assets' bytecode (or none, and the assets ship without)
    assert found != sys.executable
    if found is not None:
        version = subprocess.run([found, "--version"], capture_output=True, text=True, check=True).stdout
        assert version.startswith("Python 3.12")


def test_bytecode_is_compiled_for_the_runtime_and_the_same_each_time(tmp_path: Path) -> None:
    interpreter = build.runtime_interpreter()
    if interpreter is None:
        pytest.skip("no Python 3.12 on this machine: `make build` ships the assets without bytecode")
    # Given a staged module
    (tmp_path / "module.py").write_text("NAMES = {'a', 'b', 'c'}\n")

    # When its bytecode is compiled twice
    assert build.compile_bytecode([tmp_path], interpreter)
    compiled = tmp_path / "__pycache__" / "module.cpython-312.pyc"
    first = compiled.read_bytes()
    compiled.unlink()
    assert build.compile_bytecode([tmp_path], interpreter)

    # Then it is 3.12 bytecode, hash-based and unchecked (valid whatever the asset's file times), byte for byte
    # the same (a stable asset hash)
    assert int.from_bytes(first[4:8], "little") == 0b01  # PEP 552 flags: hash-based, not checked
    assert compiled.read_bytes() == first


def test_config_passes_the_ssrf_allowlist_to_the_functions() -> None:
    # Given private ranges an operator's services live in (`cdk -c postbox:destinationAllowCidrs=...`)
    context = {**cdk_json_context(), "postbox:destinationAllowCidrs": "10.1.0.0/16, fd12::/16"}

    # When reading the configuration
    config = InfraConfig.from_mapping(context)

    # Then both functions get them as DESTINATION_ALLOW_CIDRS; by default they get nothing (public addresses only)
    assert config.function_environment == {"DESTINATION_ALLOW_CIDRS": "10.1.0.0/16,fd12::/16"}
    assert InfraConfig.from_mapping(cdk_json_context()).function_environment == {}


def test_the_layer_follows_the_architecture_and_a_rebuild_follows_a_change(tmp_path: Path, fake_pip: FakePip) -> None:
    # Given a layer built for arm64
    build.build_layer(tmp_path, ["requests==1.0"], architecture="arm64")
    # When built for x86_64 / Then pip runs again, for manylinux x86_64
    assert build.build_layer(tmp_path, ["requests==1.0"], architecture="x86_64") is True
    assert "manylinux2014_x86_64" in fake_pip.calls[-1]
    assert (tmp_path / ".architecture").read_text().strip() == "x86_64"


def test_build_takes_the_cdk_context_overrides(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    seen: dict[str, object] = {}
    monkeypatch.setattr(build, "stage_code", lambda dest: dest)
    monkeypatch.setattr(build, "build_layer", lambda dest, architecture: seen.update(architecture=architecture))
    monkeypatch.setattr(build, "runtime_interpreter", lambda: None)
    build.main(["-c", "postbox:architecture=x86_64", "--profile", "ignored"])
    assert seen == {"architecture": "x86_64"}


def test_the_rehearsal_is_built_for_this_machine_with_the_runtimes_sdk(
    tmp_path: Path, fake_pip: FakePip, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a machine without the runtime's Python
    monkeypatch.setattr(build, "runtime_interpreter", lambda: None)
    # When building the deploy rehearsal
    build.build_rehearsal(tmp_path)
    # Then the layer and the runtime's SDK are built for this machine's architecture and the Python that runs them
    # (this one)
    version = f"{sys.version_info.major}.{sys.version_info.minor}"
    platform = build.PLATFORMS[build.host_architecture()]
    layer, runtime = fake_pip.calls
    for args in (layer, runtime):
        assert args[args.index("--platform") + 1] == platform
        assert args[args.index("--python-version") + 1] == version
    assert not any(arg.startswith(("boto3", "botocore")) for arg in layer)
    assert [arg for arg in runtime if arg.startswith("boto3")] == [
        line.strip('", ') for line in (PROJECT_ROOT / "pyproject.toml").read_text().splitlines() if '"boto3==' in line
    ]
    # And the layer leaves the SDK to the runtime, which keeps it
    assert not (tmp_path / "layer" / "python" / "botocore").exists()
    assert (tmp_path / "runtime" / "python" / "botocore").is_dir()
    recorded = json.loads((tmp_path / build.REHEARSAL_INTERPRETER_FILE).read_text())
    assert recorded == {"path": sys.executable, "version": version, "architecture": build.host_architecture()}
