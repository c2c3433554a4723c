"""One guard for every store kept on Redis: a Redis that cannot be reached is ``StoreUnavailable`` (a 503)."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from functools import wraps
from typing import Any, ParamSpec, TypeVar

from redis.exceptions import RedisError

from service.errors import StoreUnavailable

P = ParamSpec("P")
T = TypeVar("T")


def reached(what: str) -> Callable[[Callable[P, Coroutine[Any, Any, T]]], Callable[P, Coroutine[Any, Any, T]]]:
    """Return a decorator for a store's async methods naming ``what`` the store is, and its Redis without password.

    The store (the method's ``self``) says where its Redis is in ``where`` (``redacted`` from its URL).
    """

    def decorator(method: Callable[P, Coroutine[Any, Any, T]]) -> Callable[P, Coroutine[Any, Any, T]]:
        """Wrap ``method`` so that a Redis or socket error becomes ``StoreUnavailable``."""

        @wraps(method)
        async def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return await method(*args, **kwargs)
            except (RedisError, OSError) as exc:
                where = getattr(args[0], "where", "?")
                raise StoreUnavailable(f"{what} on Redis {where} cannot be reached ({type(exc).__name__})") from exc

        return guarded

    return decorator
