"""The golden paths shipped with Paved, loaded into the catalog on first start."""

from __future__ import annotations

from importlib import resources

BUILTIN_TEMPLATE_FILES: tuple[str, ...] = ("web-service.yaml", "background-worker.yaml", "scheduled-job.yaml")


def builtin_documents() -> dict[str, str]:
    """The built-in ServiceTemplate documents by file name."""
    package = resources.files("paved_catalog") / "builtin"
    return {name: (package / name).read_text(encoding="utf-8") for name in BUILTIN_TEMPLATE_FILES}


def builtin_documents_by_template() -> dict[str, str]:
    """The built-in documents by the name of the template each defines: its file name without ``.yaml``."""
    return {file_name.removesuffix(".yaml"): text for file_name, text in builtin_documents().items()}
