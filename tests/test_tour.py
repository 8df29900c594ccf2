"""The career tour, driven through the real Dispatcher."""

from sqlalchemy import func, select

from bot.db.models import Event, Student
from tests.conftest import BotHarness


async def test_start_greets_and_goes_straight_to_the_only_career(harness: BotHarness) -> None:
    sam = harness.user()
    replies = await sam.send("/start")
    texts = [reply.text for reply in replies if reply.method == "sendMessage"]
    assert texts[0].startswith("Hi Sam!")
    assert "<b>Music Producer</b>" in texts[1]
    assert "💰 The numbers" in sam.current_labels()


async def test_navigation_edits_the_message_and_back_home_work(harness: BotHarness) -> None:
    sam = harness.user()
    await sam.send("/start")
    menu_id = sam.latest().message_id  # type: ignore[union-attr]
    replies = await sam.press("🕘 A typical day")
    edits = [reply for reply in replies if reply.method == "editMessageText"]
    assert len(edits) == 1 and edits[0].message_id == menu_id
    assert "<b>3:00</b> · <b>Mix &amp; tweak</b>" in edits[0].text
    await sam.press("🛠 The work")
    replies = await sam.press("⬅️ Back") if "⬅️ Back" in sam.current_labels() else []
    replies = await sam.press("🏠 Menu")
    assert "Where do you want to start?" in replies[-1].text


async def test_views_and_position_are_stored(harness: BotHarness) -> None:
    sam = harness.user()
    await sam.send("/start")
    await sam.press("💰 The numbers")
    async with harness.database.session_factory() as session:
        student = (await session.execute(select(Student))).scalar_one()
        assert (student.career, student.node) == ("music-producer", "numbers")
        views = await session.scalar(
            select(func.count()).select_from(Event).where(Event.kind == "view")
        )
        assert views == 2
