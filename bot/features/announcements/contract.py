"""The announcements' share of the dialog contract: write, pick a button, confirm, follow."""

from bot.content.models import Profile
from bot.engine.dialogs import Contract
from bot.features.announcements.service import (
    FAILURE_LABELS,
    AnnouncementView,
    FailureCount,
    Progress,
)

# Button actions keep their first names: buttons already in chats carry them.
ANNOUNCE, ANNOUNCE_BUTTON, ANNOUNCE_SEND = "announce", "announce_button", "announce_send"
PROMPT, BUTTON_PROMPT = "announcement_prompt", "announcement_button_prompt"
CONFIRM, PROGRESS = "announcement_confirm", "announcement_progress"


def _announcement(profile: Profile) -> AnnouncementView:
    choices = [{"node": "menu", "label": "Menu"}]
    return AnnouncementView("Try the checklist before Friday!", "menu", "Menu", choices)


def _progress(profile: Profile) -> Progress:
    failures = [FailureCount("chat not found", 1)]
    return Progress(
        total=30, sent=20, blocked=2, failed=1, pending=7, retrying=2, failures=failures
    )


CONTRACT = Contract(
    nodes=frozenset({PROMPT, BUTTON_PROMPT, CONFIRM, PROGRESS, "announcement"}),
    messages=frozenset({"announcement_text_invalid"}),
    labels=FAILURE_LABELS,
    actions=frozenset({ANNOUNCE, ANNOUNCE_BUTTON, ANNOUNCE_SEND}),
    variables={"announcement": _announcement, "progress": _progress},
)
