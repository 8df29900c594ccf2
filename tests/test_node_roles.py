"""Nodes that name `roles` in the dialog files are shown to those roles only, however they are
opened: a forged button, an announcement's `open` button, the place a student is put back to.

Which nodes are for staff, and what they say, is read from the dialog YAML files.
"""

import re

import pytest
from sqlalchemy import select, update

from bot.db.models import Student
from bot.standin.conversation import Reply
from tests.cohort_support import ADMIN, LEAD_A, grant_lead
from tests.conftest import BotHarness
from tests.feature_support import DIALOGS, assert_menu_changed, assert_no_error
from tests.tour_support import plain, texts

SAM = 1001
STAFF_NODES = {
    node_id: node["roles"] for node_id, node in DIALOGS.nodes.items() if node.get("roles")
}
_TEMPLATE = re.compile(r"{{.*?}}|{%.*?%}", re.DOTALL)


def static_lines(node_id: str) -> list[str]:
    """The lines of a node's text that show whatever the values: what gives the screen away."""
    text = _TEMPLATE.sub("\n", DIALOGS.nodes[node_id]["text"])
    return [line.strip() for line in plain(text).splitlines() if len(line.strip()) > 3]


def staff_text_in(replies: list[Reply], node_id: str) -> list[str]:
    sent = [plain(text) for text in texts(replies)]
    return [line for line in static_lines(node_id) if any(line in text for text in sent)]


def test_the_staff_screens_name_their_roles() -> None:
    assert "cohort_name_prompt" in STAFF_NODES
    assert STAFF_NODES["leads"] == ["admin"]
    for node_id in STAFF_NODES:
        assert static_lines(node_id), f"{node_id} has no fixed text to look for"


@pytest.mark.parametrize("node_id", sorted(STAFF_NODES))
async def test_a_forged_button_to_a_staff_node_shows_a_student_nothing_of_it(
    harness: BotHarness, node_id: str
) -> None:
    sam = harness.user(SAM)
    assert_no_error(await sam.send("/start"))
    for data in (f"n:{node_id}", f"a:open:{node_id}"):
        replies = await sam.press_data(data)
        assert_menu_changed(replies)
        assert staff_text_in(replies, node_id) == [], f"{data} showed the staff screen"
    async with harness.database.session_factory() as session:
        position = await session.scalar(select(Student.node).where(Student.telegram_id == SAM))
    assert position not in STAFF_NODES


@pytest.mark.parametrize("node_id", sorted(STAFF_NODES))
async def test_a_stored_staff_position_does_not_reopen_for_a_student(
    harness: BotHarness, node_id: str
) -> None:
    """A position stored while someone was staff (or written by hand) is not where a student
    is put back to."""
    sam = harness.user(SAM)
    await sam.send("/start")
    async with harness.database.session_factory() as session:
        await session.execute(
            update(Student).where(Student.telegram_id == SAM).values(node=node_id)
        )
        await session.commit()
    replies = await sam.send("/start")
    assert_no_error(replies)
    assert staff_text_in(replies, node_id) == []


async def test_a_lead_and_an_admin_still_open_the_staff_screens(harness: BotHarness) -> None:
    await grant_lead(harness, LEAD_A, "Lee")
    for telegram_id in (LEAD_A, ADMIN):
        staff = harness.user(telegram_id, "Lee")
        await staff.send("/start")
        replies = await staff.press_data("n:cohort_name_prompt")
        assert_no_error(replies)
        assert staff_text_in(replies, "cohort_name_prompt") == static_lines("cohort_name_prompt")
    admin = harness.user(ADMIN, "Lee")
    replies = await admin.send("/leads")
    assert staff_text_in(replies, "leads")
