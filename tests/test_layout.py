"""The shape every feature keeps (bot/features/feature.py): a package with its contract,
router and setup beside its dialog file, named by one word, and thin handlers."""

import inspect

from bot.app import Content, build_dispatcher
from bot.config import PROJECT_DIR, Settings
from bot.db.engine import Database
from bot.features import FEATURES, contracts, handler_modules

MOST_INJECTED = 5


async def test_every_feature_has_its_package_dialog_file_and_router(
    settings: Settings, content: Content, database: Database
) -> None:
    dispatcher = build_dispatcher(settings, content, database)
    routers = [router.name for router in dispatcher.sub_routers]
    assert routers == ["errors", *FEATURES, "fallback"]
    for name, module in zip(FEATURES, handler_modules(), strict=True):
        assert (PROJECT_DIR / "dialogs" / f"{name}.yaml").is_file(), name
        assert module.__name__ == f"bot.features.{name}.handlers"
    # Each feature declares its own nodes: no node is claimed by two.
    declared = [node for contract in contracts() for node in contract.nodes]
    assert len(declared) == len(set(declared))


async def test_no_handler_takes_more_than_five_injected_parameters(
    settings: Settings, content: Content, database: Database
) -> None:
    dispatcher = build_dispatcher(settings, content, database)
    counted = 0
    for router in dispatcher.chain_tail:
        for observer in router.observers.values():
            for handler in observer.handlers:
                # The first parameter is the event itself; the rest are injected by name.
                injected = list(inspect.signature(handler.callback).parameters)[1:]
                where = f"{router.name}: {handler.callback.__name__}{injected}"
                assert len(injected) <= MOST_INJECTED, where
                counted += 1
    assert counted > 40
