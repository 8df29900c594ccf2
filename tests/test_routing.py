"""How the Dispatcher routes: what every update pays before a handler runs."""

from collections.abc import Iterator
from pathlib import Path

from aiogram import Router
from aiogram.dispatcher.event.handler import CallableObject

from bot.app import Content, build_dispatcher
from bot.config import Settings
from bot.db.engine import Database


def callables(router: Router) -> Iterator[tuple[str, CallableObject]]:
    """Every filter and handler of the router tree, each with where it is registered."""
    for event_type, observer in router.observers.items():
        where = f"{router.name}.{event_type}"
        for root_filter in observer._handler.filters or []:
            yield f"{where} router filter", root_filter
        for handler in observer.handlers:
            yield where, handler
            for handler_filter in handler.filters or []:
                yield f"{where} filter of {handler.callback.__name__}", handler_filter
    for sub_router in router.sub_routers:
        yield from callables(sub_router)


async def test_every_filter_and_handler_runs_on_the_event_loop(
    content: Content, tmp_path: Path
) -> None:
    """aiogram runs a plain function (a magic filter, a bare FSM state) in a worker thread:
    checked on every update that passes its router, each hop costs more than the check."""
    database = Database.connect(f"sqlite+aiosqlite:///{tmp_path / 'careerbot.db'}")
    try:
        dispatcher = build_dispatcher(Settings(_env_file=None), content, database)
        found = list(callables(dispatcher))
    finally:
        await database.close()
    in_threads = [
        f"{where}: {callable_object.callback!r}"
        for where, callable_object in found
        if not callable_object.awaitable
    ]
    assert len(found) > 50
    assert in_threads == []
