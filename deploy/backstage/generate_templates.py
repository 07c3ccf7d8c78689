"""Writes deploy/backstage/templates/ from the golden paths shipped with Paved: the catalog's Software
Template export of each, with its step turned into Paved's own `paved:service:create` action (which
validates, creates and follows the operation to its end) and outputs that link to what was created.

Run from the repository root: `uv run python deploy/backstage/generate_templates.py` (`--check` fails
when the committed files differ, as the test does).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from paved_catalog import backstage
from paved_catalog.builtins import builtin_documents
from paved_catalog.document import parse_template_document

TEMPLATES = Path(__file__).parent / "templates"
HEADER = (
    "# Generated from Paved's {name} golden path by deploy/backstage/generate_templates.py: do not edit.\n"
    "# Needs @paved/plugin-scaffolder-backend-module-paved in the Backstage backend (see ../README.md).\n"
)
LINKS = backstage.ExportLinks(
    location_url="", source_url="https://git.example.com/services", template_owner="platform"
)
_LOCATION_ANNOTATIONS = ("backstage.io/managed-by-location", "backstage.io/managed-by-origin-location")


def paved_template(document: str) -> tuple[str, dict[str, Any]]:
    """The template's name and its Software Template using `paved:service:create`."""
    parsed = parse_template_document(document)
    if parsed.spec is None:
        raise ValueError(f"a shipped golden path does not parse: {parsed.violations}")
    spec = parsed.spec
    template = backstage.software_template(spec, 1, LINKS)
    annotations = template["metadata"].get("annotations", {})
    for key in _LOCATION_ANNOTATIONS:  # the catalog sets these for the location it reads the file from
        annotations.pop(key, None)
    step = template["spec"]["steps"][0]
    body = step["input"]["body"]
    form_fields = {"name": "service_name"} if spec.parameter("service_name") else {}
    step.update(
        action="paved:service:create",
        name="Create the service with Paved",
        input={
            "name": body["name"],
            "team": "${{ parameters.team }}",
            "template": body["template"],
            "environment": body["environment"],
            "parameters": body["parameters"],
            **({"formFields": form_fields} if form_fields else {}),
        },
    )
    template["spec"]["output"] = {
        "links": [
            {
                "title": "Open in catalog",
                "icon": "catalog",
                "entityRef": "${{ steps['create'].output.entityRef }}",
            },
            {"title": "Service", "url": "${{ steps['create'].output.serviceUrl }}"},
        ],
        "text": [
            {
                "title": "Cost and policy",
                "content": "${{ steps['create'].output.summary }}\n\n"
                "Paved operation: ${{ steps['create'].output.operationUrl }}",
            }
        ],
    }
    return spec.name, template


def rendered() -> dict[Path, str]:
    """Every template file's path and text."""
    files: dict[Path, str] = {}
    for document in builtin_documents().values():
        name, template = paved_template(document)
        files[TEMPLATES / f"{name}.yaml"] = HEADER.format(name=name) + backstage.to_yaml([template])
    return files


def main(argv: list[str]) -> int:
    files = rendered()
    stale = sorted(
        str(path)
        for path in {*files, *TEMPLATES.glob("*.yaml")}
        if not path.exists() or files.get(path) != path.read_text(encoding="utf-8")
    )
    if "--check" in argv:
        if stale:
            print(
                "stale Backstage templates; regenerate with "
                "uv run python deploy/backstage/generate_templates.py:"
            )
            print("\n".join(f"  {path}" for path in stale))
            return 1
        return 0
    TEMPLATES.mkdir(exist_ok=True)
    for path in TEMPLATES.glob("*.yaml"):
        if path not in files:
            path.unlink()
    for path, text in files.items():
        path.write_text(text, encoding="utf-8")
    print(f"wrote {len(files)} templates to {TEMPLATES}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
