"""Server interceptors every Paved gRPC server runs, outermost first: context, metrics, auth, errors,
validation."""

from paved_kit.interceptors.auth import AuthInterceptor
from paved_kit.interceptors.base import AroundInterceptor, final_code, split_method
from paved_kit.interceptors.errors import ErrorInterceptor
from paved_kit.interceptors.metrics import MetricsInterceptor
from paved_kit.interceptors.request_context import RequestContextInterceptor
from paved_kit.interceptors.validation import ValidationInterceptor

__all__ = [
    "AroundInterceptor",
    "AuthInterceptor",
    "ErrorInterceptor",
    "MetricsInterceptor",
    "RequestContextInterceptor",
    "ValidationInterceptor",
    "final_code",
    "split_method",
]
