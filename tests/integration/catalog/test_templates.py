"""Template CRUD over real gRPC: built-ins, create, etag-guarded update and delete, validation, listing."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc
from paved.catalog.v1 import catalog_pb2

DOCUMENT = """\
apiVersion: platform.dev/v1
kind: ServiceTemplate
metadata:
  name: static-site
  description: A static site behind the ingress
spec:
  parameters:
    - name: service_name
      type: string
      required: true
    - name: headline
      type: string
      default: Hello
  resources:
    - type: compute
      template: |
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .service_name }}
        data:
          headline: {{ .headline }}
"""


async def test_builtins_are_loaded_once(catalog: Any, failing: Any) -> None:
    listed = await catalog.stub.ListTemplates(catalog_pb2.ListTemplatesRequest(filter="builtin = true"))
    names = [t.name for t in listed.templates]
    assert names == ["templates/background-worker", "templates/scheduled-job", "templates/web-service"]
    web = listed.templates[2]
    assert web.builtin and web.revision == 1 and web.etag
    assert [r.type for r in web.resources] == ["compute", "networking", "database", "observability"]
    assert [w.name for w in web.workflows] == ["deploy", "rollback"]
    assert web.parameters[0].name == "service_name" and web.parameters[0].required
    # Deleting a built-in is final: seeding again on restart does not bring it back.
    await catalog.stub.DeleteTemplate(catalog_pb2.DeleteTemplateRequest(name="templates/scheduled-job"))
    assert await catalog.catalog.templates.seed_builtins() == []
    error = await failing(
        catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name="templates/scheduled-job"))
    )
    assert error.code == grpc.StatusCode.NOT_FOUND


async def test_create_get_update_with_etag_and_delete(catalog: Any, failing: Any) -> None:
    created = await catalog.stub.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=DOCUMENT))
    assert created.name == "templates/static-site" and created.revision == 1 and not created.builtin
    assert created.description == "A static site behind the ingress"
    fetched = await catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name="templates/static-site"))
    assert fetched.etag == created.etag and fetched.document == DOCUMENT

    duplicate = await failing(
        catalog.stub.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=DOCUMENT))
    )
    assert duplicate.code == grpc.StatusCode.ALREADY_EXISTS

    edited = DOCUMENT.replace("default: Hello", "default: Welcome")
    updated = await catalog.stub.UpdateTemplate(
        catalog_pb2.UpdateTemplateRequest(name="templates/static-site", document=edited, etag=created.etag)
    )
    assert updated.revision == 2 and updated.etag != created.etag
    assert updated.parameters[1].default_value.string_value == "Welcome"

    # A second editor still holding the first etag cannot overwrite the change.
    stale = await failing(
        catalog.stub.UpdateTemplate(
            catalog_pb2.UpdateTemplateRequest(
                name="templates/static-site", document=DOCUMENT.replace("Hello", "Hi"), etag=created.etag
            )
        )
    )
    assert stale.code == grpc.StatusCode.ABORTED and stale.reason == "ETAG_MISMATCH"
    current = await catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name="templates/static-site"))
    assert current.document == edited and current.revision == 2

    missing_etag = await failing(
        catalog.stub.UpdateTemplate(
            catalog_pb2.UpdateTemplateRequest(name="templates/static-site", document=edited)
        )
    )
    assert missing_etag.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in missing_etag.field_violations] == ["etag"]

    renamed = await failing(
        catalog.stub.UpdateTemplate(
            catalog_pb2.UpdateTemplateRequest(
                name="templates/static-site",
                document=edited.replace("static-site", "other"),
                etag=updated.etag,
            )
        )
    )
    assert [v.field for v in renamed.field_violations] == ["document.metadata.name"]

    wrong_delete = await failing(
        catalog.stub.DeleteTemplate(
            catalog_pb2.DeleteTemplateRequest(name="templates/static-site", etag=created.etag)
        )
    )
    assert wrong_delete.code == grpc.StatusCode.ABORTED
    await catalog.stub.DeleteTemplate(
        catalog_pb2.DeleteTemplateRequest(name="templates/static-site", etag=updated.etag)
    )
    gone = await failing(
        catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name="templates/static-site"))
    )
    assert gone.code == grpc.StatusCode.NOT_FOUND


async def test_concurrent_updates_with_the_same_etag_let_exactly_one_win(catalog: Any, failing: Any) -> None:
    created = await catalog.stub.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=DOCUMENT))
    calls = [
        catalog.stub.UpdateTemplate(
            catalog_pb2.UpdateTemplateRequest(
                name=created.name, document=DOCUMENT.replace("Hello", f"Hello {i}"), etag=created.etag
            )
        )
        for i in range(5)
    ]
    results = await asyncio.gather(*calls, return_exceptions=True)
    winners = [r for r in results if isinstance(r, catalog_pb2.Template)]
    losers = [r for r in results if isinstance(r, grpc.aio.AioRpcError)]
    assert len(winners) == 1 and len(losers) == 4
    assert all(r.code() == grpc.StatusCode.ABORTED for r in losers)
    final = await catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name=created.name))
    assert final.revision == 2 and final.document == winners[0].document


async def test_create_is_idempotent_by_request_id(catalog: Any, failing: Any) -> None:
    request = catalog_pb2.CreateTemplateRequest(
        document=DOCUMENT, request_id="b0f4b2f0-0d7e-4d0a-9a53-0e0c3c1e9a11"
    )
    first = await catalog.stub.CreateTemplate(request)
    again = await catalog.stub.CreateTemplate(request)
    assert again == first


async def test_invalid_documents_are_rejected_with_every_violation(catalog: Any, failing: Any) -> None:
    broken = DOCUMENT.replace("platform.dev/v1", "platform.dev/v9").replace(
        "type: string\n      default", "type: text\n      default"
    )
    error = await failing(catalog.stub.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=broken)))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and error.reason == "INVALID_TEMPLATE"
    fields = {v.field: v.description for v in error.field_violations}
    assert set(fields) == {"document.apiVersion", "document.spec.parameters[1].type"}
    assert fields["document.apiVersion"].startswith("line 1, column 13:")

    validated = await catalog.stub.ValidateTemplate(catalog_pb2.ValidateTemplateRequest(document=broken))
    assert not validated.valid
    assert {(v.path, v.line) for v in validated.violations} == {
        ("apiVersion", 1),
        ("spec.parameters[1].type", 12),
    }

    syntax = await catalog.stub.ValidateTemplate(
        catalog_pb2.ValidateTemplateRequest(document="a: [b\nc: d\n")
    )
    (violation,) = syntax.violations
    assert violation.line == 2 and violation.column > 0
    ok = await catalog.stub.ValidateTemplate(catalog_pb2.ValidateTemplateRequest(document=DOCUMENT))
    assert ok.valid and not ok.violations
    listed = await catalog.stub.ListTemplates(catalog_pb2.ListTemplatesRequest())
    assert "templates/static-site" not in [t.name for t in listed.templates]


async def test_list_pages_and_filters(catalog: Any, failing: Any) -> None:
    await catalog.stub.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=DOCUMENT))
    seen: list[str] = []
    token = ""
    while True:
        page = await catalog.stub.ListTemplates(
            catalog_pb2.ListTemplatesRequest(page_size=1, page_token=token)
        )
        seen += [t.name for t in page.templates]
        token = page.next_page_token
        if not token:
            break
    assert seen == sorted(seen) and len(seen) == 4
    custom = await catalog.stub.ListTemplates(catalog_pb2.ListTemplatesRequest(filter="builtin = false"))
    assert [t.name for t in custom.templates] == ["templates/static-site"]
    bad = await failing(catalog.stub.ListTemplates(catalog_pb2.ListTemplatesRequest(filter="owner = me")))
    assert bad.code == grpc.StatusCode.INVALID_ARGUMENT and bad.field_violations[0].field == "filter"
    bad_token = await failing(
        catalog.stub.ListTemplates(catalog_pb2.ListTemplatesRequest(page_token="nonsense"))
    )
    assert bad_token.field_violations[0].field == "page_token"


async def test_bad_names_are_invalid_arguments(catalog: Any, failing: Any) -> None:
    error = await failing(
        catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name="templates/Not_Valid"))
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT and error.field_violations[0].field == "name"
