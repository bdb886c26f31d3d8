"""The README and the documentation site (mkdocs.yml, docs/): a short front door, every page reachable, the API
reference complete."""

from __future__ import annotations

import re
from pathlib import Path

from docs.hooks import api_reference, config_tables
from docs.hooks.generated import MARKER, renderers

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def _nav_pages() -> set[str]:
    """The pages mkdocs.yml's nav names (its entries are `- Title: page.md`, one a line)."""
    config = (ROOT / "mkdocs.yml").read_text()
    nav = config[config.index("\nnav:\n") : config.index("\n\n", config.index("\nnav:\n") + 1)]
    return set(re.findall(r"^\s+- (?:[^:\n]+: )?(\S+\.md)$", nav, re.MULTILINE))


def test_readme_is_at_most_250_lines() -> None:
    # Given / When
    lines = (ROOT / "README.md").read_text().splitlines()
    # Then
    assert len(lines) <= 250


def test_every_page_under_docs_is_in_the_nav_and_every_nav_entry_exists() -> None:
    # Given / When
    in_nav = _nav_pages()
    pages = {str(path.relative_to(DOCS)) for path in DOCS.rglob("*.md") if "hooks" not in path.parts}
    # Then
    assert pages == in_nav


def test_the_api_reference_covers_every_operation_of_the_openapi_document() -> None:
    # Given
    document = api_reference.document()
    # When
    rendered = api_reference.render(document)
    # Then
    for method, path, _ in api_reference.operations(document):
        assert f"### `{method.upper()} {path}`" in rendered
    for schema in document["components"]["schemas"]:
        assert f"### {schema}\n" in rendered
    assert len(api_reference.operations(document)) == sum(len(ops) for ops in document["paths"].values())


def test_every_generated_block_a_page_names_renders() -> None:
    # Given
    known = renderers()
    # When
    named = {name for page in DOCS.rglob("*.md") for name in MARKER.findall(page.read_text())}
    # Then
    assert named == set(known)
    for name in named:
        assert known[name]().strip()


def test_configuration_tables_name_every_setting_and_context_key() -> None:
    # Given / When
    environment, context = config_tables.environment_table(), config_tables.context_table()
    # Then
    assert re.search(r"\| `INLINE_BODY_BYTES` \| 4096 \(4 KB\) \|", environment)
    assert "| `postbox:frontDoor` |" in context
