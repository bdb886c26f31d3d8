"""Settings of the Lambda functions without AWS: code defaults, placeholders for the resources the stack sets."""

from __future__ import annotations

from functions.shared.config import Settings


def placeholder_env() -> dict[str, str]:
    """Every required variable set to a placeholder naming it; every other variable left to its code default."""
    return {
        str(field.alias): f"<{field.alias}>"
        for field in Settings.model_fields.values()
        if field.is_required() and field.alias
    }


def default_settings() -> Settings:
    """The settings of a deployment that overrides nothing."""
    return Settings.model_validate(placeholder_env())
