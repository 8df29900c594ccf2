"""The announcements' share of the dialog contract: write, pick a button, confirm, follow."""

from datetime import UTC, datetime

from bot.content.models import Profile
from bot.engine.dialogs import Contract
from bot.features.announcements.service import (
    FAILURE_LABELS,
    AnnouncementView,
    FailureCount,
    History,
    Progress,
    SentAnnouncement,
)
from bot.features.cohorts.contract import sample_cohort

# Button actions keep their first names: buttons already in chats carry them.
ANNOUNCE, ANNOUNCE_BUTTON, ANNOUNCE_SEND = "announce", "announce_button", "announce_send"
PROMPT, BUTTON_PROMPT = "announcement_prompt", "announcement_button_prompt"
CONFIRM, PROGRESS = "announcement_confirm", "announcement_progress"
# A cohort's announcements so far (arg: the cohort id, or `<id>.<page>`).
HISTORY_ACTION, HISTORY = "announce_history", "announcement_history"


def _announcement(profile: Profile) -> AnnouncementView:
    choices = [{"node": "menu", "label": "Menu"}]
    return AnnouncementView("Try the checklist before Friday!", "menu", "Menu", choices)


def _progress(profile: Profile) -> Progress:
    failures = [FailureCount("chat not found", 1)]
    return Progress(
        total=30, sent=20, blocked=2, failed=1, pending=7, retrying=2, failures=failures
    )


def _history(profile: Profile) -> History:
    sent = SentAnnouncement(
        sent_at=datetime(2026, 3, 2, 9, 30, tzinfo=UTC),
        sender="Lee",
        by_admin=False,
        excerpt="Try the checklist before Friday!",
        delivered=20,
        pending=1,
        blocked=2,
        failed=1,
    )
    by_admin = SentAnnouncement(sent.sent_at, None, True, "Welcome…", 3, 0, 0, 0)
    return History(sample_cohort(profile), [sent, by_admin], page=2, pages=3, total=12)


CONTRACT = Contract(
    nodes=frozenset({PROMPT, BUTTON_PROMPT, CONFIRM, PROGRESS, HISTORY, "announcement"}),
    messages=frozenset({"announcement_text_invalid"}),
    labels=FAILURE_LABELS,
    actions=frozenset({ANNOUNCE, ANNOUNCE_BUTTON, ANNOUNCE_SEND, HISTORY_ACTION}),
    variables={"announcement": _announcement, "progress": _progress, "history": _history},
)
