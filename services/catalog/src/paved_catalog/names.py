"""Resource names of the catalog: ``templates/{template}`` and ``services/{service}``."""

from __future__ import annotations

from paved_kit.errors import FieldViolation, InvalidArgument

from paved_catalog.render_context import is_dns_label

TEMPLATES = "templates"
SERVICES = "services"


def parse_name(value: str, collection: str, field: str) -> str:
    """The id in ``{collection}/{id}`` (a bare id is accepted too); raises InvalidArgument on ``field``."""
    prefix = f"{collection}/"
    resource_id = value.removeprefix(prefix)
    if not value:
        raise InvalidArgument(f"{field} is required", [FieldViolation(field, f"required: {prefix}{{id}}")])
    if not is_dns_label(resource_id):
        raise InvalidArgument(
            f"{field} is not a valid name",
            [
                FieldViolation(
                    field,
                    f"must be {prefix}{{id}} where id is a DNS-1123 label "
                    "(lowercase letters, digits and '-', starting with a letter, at most 63 characters)",
                )
            ],
        )
    return resource_id
