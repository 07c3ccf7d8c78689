"""Template revisions over real gRPC: every create and update leaves an immutable revision behind."""

from __future__ import annotations

import hashlib
from typing import Any

import grpc
from google.protobuf import field_mask_pb2
from paved.catalog.v1 import catalog_pb2
from paved.common.v1 import common_pb2

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
  resources:
    - type: compute
      template: |
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: {{ .service_name }}
        data:
          headline: Hello
"""
SECOND = DOCUMENT.replace("headline: Hello", "headline: Welcome")
THIRD = SECOND.replace("A static site", "A static site, version three")
NAME = "templates/static-site"


async def _three_revisions(catalog: Any) -> None:
    created = await catalog.stub.CreateTemplate(
        catalog_pb2.CreateTemplateRequest(document=DOCUMENT, change_note="first cut"),
        metadata=(("x-paved-author", "alice"),),
    )
    second = await catalog.stub.UpdateTemplate(
        catalog_pb2.UpdateTemplateRequest(
            name=NAME, document=SECOND, etag=created.etag, change_note="a warmer headline"
        ),
        metadata=(("x-paved-author", "bob"),),
    )
    third = await catalog.stub.UpdateTemplate(
        catalog_pb2.UpdateTemplateRequest(name=NAME, document=THIRD, etag=second.etag)
    )
    assert (created.revision, second.revision, third.revision) == (1, 2, 3)


async def test_each_change_is_a_revision_and_old_ones_stay_readable(catalog: Any) -> None:
    await _three_revisions(catalog)
    listed = await catalog.stub.ListTemplateRevisions(catalog_pb2.ListTemplateRevisionsRequest(name=NAME))
    assert [r.revision for r in listed.revisions] == [3, 2, 1] and not listed.next_page_token
    assert [(r.author, r.change_note) for r in listed.revisions] == [
        ("", ""),
        ("bob", "a warmer headline"),
        ("alice", "first cut"),
    ]
    assert [r.document for r in listed.revisions] == [THIRD, SECOND, DOCUMENT]
    assert [r.digest for r in listed.revisions] == [
        hashlib.sha256(d.encode()).hexdigest() for d in (THIRD, SECOND, DOCUMENT)
    ]
    assert all(r.template == NAME and r.create_time.seconds for r in listed.revisions)

    old = await catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name=NAME, revision=2))
    assert (old.revision, old.document) == (2, SECOND)
    latest = await catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name=NAME))
    assert (latest.revision, latest.document) == (3, THIRD)
    assert old.etag != latest.etag
    same = await catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name=NAME, revision=3))
    assert same.etag == latest.etag


async def test_revisions_page_newest_first(catalog: Any) -> None:
    await _three_revisions(catalog)
    seen: list[int] = []
    token = ""
    while True:
        page = await catalog.stub.ListTemplateRevisions(
            catalog_pb2.ListTemplateRevisionsRequest(name=NAME, page_size=2, page_token=token)
        )
        seen.extend(r.revision for r in page.revisions)
        token = page.next_page_token
        if not token:
            break
    assert seen == [3, 2, 1]


async def test_builtins_start_at_revision_one(catalog: Any) -> None:
    listed = await catalog.stub.ListTemplateRevisions(
        catalog_pb2.ListTemplateRevisionsRequest(name="templates/web-service")
    )
    assert [(r.revision, r.change_note) for r in listed.revisions] == [(1, "built-in template")]


async def test_unknown_or_bad_revisions_are_refused(catalog: Any, failing: Any) -> None:
    await _three_revisions(catalog)
    error = await failing(catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name=NAME, revision=9)))
    assert error.code == grpc.StatusCode.NOT_FOUND and "no revision 9" in error.message
    error = await failing(catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name=NAME, revision=-1)))
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in error.field_violations] == ["revision"]
    error = await failing(
        catalog.stub.ListTemplateRevisions(catalog_pb2.ListTemplateRevisionsRequest(name="templates/nope"))
    )
    assert error.code == grpc.StatusCode.NOT_FOUND
    error = await failing(
        catalog.stub.ListTemplateRevisions(
            catalog_pb2.ListTemplateRevisionsRequest(name=NAME, page_token="garbage")
        )
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in error.field_violations] == ["page_token"]


async def test_a_refused_update_leaves_no_revision(catalog: Any, failing: Any) -> None:
    await _three_revisions(catalog)
    error = await failing(
        catalog.stub.UpdateTemplate(
            catalog_pb2.UpdateTemplateRequest(name=NAME, document=DOCUMENT, etag='"stale"')
        )
    )
    assert error.code in (grpc.StatusCode.ABORTED, grpc.StatusCode.FAILED_PRECONDITION)
    error = await failing(
        catalog.stub.UpdateTemplate(
            catalog_pb2.UpdateTemplateRequest(
                name=NAME,
                document=DOCUMENT,
                etag=(await catalog.stub.GetTemplate(catalog_pb2.GetTemplateRequest(name=NAME))).etag,
                change_note="x" * 2001,
            )
        )
    )
    assert error.code == grpc.StatusCode.INVALID_ARGUMENT
    assert [v.field for v in error.field_violations] == ["change_note"]
    listed = await catalog.stub.ListTemplateRevisions(catalog_pb2.ListTemplateRevisionsRequest(name=NAME))
    assert [r.revision for r in listed.revisions] == [3, 2, 1]


async def test_deleting_a_template_deletes_its_revisions(catalog: Any) -> None:
    await _three_revisions(catalog)
    await catalog.stub.DeleteTemplate(catalog_pb2.DeleteTemplateRequest(name=NAME))
    created = await catalog.stub.CreateTemplate(catalog_pb2.CreateTemplateRequest(document=DOCUMENT))
    assert created.revision == 1
    listed = await catalog.stub.ListTemplateRevisions(catalog_pb2.ListTemplateRevisionsRequest(name=NAME))
    assert [r.revision for r in listed.revisions] == [1]


async def test_a_service_environment_records_the_revision_its_plan_came_from(catalog: Any) -> None:
    service = catalog_pb2.Service(
        name="services/checkout",
        team="payments",
        environment="development",
        template="templates/web-service",
        state=catalog_pb2.Service.STATE_PROVISIONING,
    )
    await catalog.stub.CreateService(catalog_pb2.CreateServiceRequest(service=service))
    child = "services/checkout/environments/development"
    got = await catalog.stub.GetServiceEnvironment(catalog_pb2.GetServiceEnvironmentRequest(name=child))
    assert got.template_revision == 1

    updated = await catalog.stub.UpdateServiceEnvironment(
        catalog_pb2.UpdateServiceEnvironmentRequest(
            service_environment=catalog_pb2.ServiceEnvironment(
                name=child, plan=common_pb2.Plan(service_name="checkout", template_revision=2)
            ),
            update_mask=field_mask_pb2.FieldMask(paths=["plan"]),
        )
    )
    assert updated.template_revision == 2
    parent = await catalog.stub.GetService(catalog_pb2.GetServiceRequest(name="services/checkout"))
    assert parent.template_revision == 2
