"""The CatalogService's method handlers, registered like the generated ``add_..._to_server``, except that
ListServices answers with its response already encoded: each stored plan is spliced into the reply as the
bytes it was stored as, instead of being parsed into a message and encoded again (the larger part of a
full-view page's CPU time)."""

from __future__ import annotations

from typing import Any

import grpc
from paved.catalog.v1 import catalog_pb2

SERVICE = catalog_pb2.DESCRIPTOR.services_by_name["CatalogService"]
PRE_ENCODED = frozenset({"ListServices"})


def _as_is(response: bytes) -> bytes:
    return response


def add_catalog_servicer_to_server(servicer: Any, server: Any) -> None:
    """Register ``servicer`` (a CatalogServicer) on a grpc.aio server, as the generated function does."""
    handlers = {}
    for method in SERVICE.methods:
        request = getattr(catalog_pb2, method.input_type.name, None)
        response = getattr(catalog_pb2, method.output_type.name, None)
        if request is None or response is None:  # a type from another file (none today): ask its module
            from google.protobuf import message_factory

            request = request or message_factory.GetMessageClass(method.input_type)
            response = response or message_factory.GetMessageClass(method.output_type)
        handlers[method.name] = grpc.unary_unary_rpc_method_handler(
            getattr(servicer, method.name),
            request_deserializer=request.FromString,
            response_serializer=_as_is if method.name in PRE_ENCODED else response.SerializeToString,
        )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE.full_name, handlers),))
