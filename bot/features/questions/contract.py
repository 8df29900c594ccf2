"""The questions feature's share of the dialog contract: an answer node per intent."""

from bot.content.models import Profile
from bot.engine.dialogs import Contract
from bot.features.questions.service import FALLBACK, Answer


def _answer(profile: Profile) -> Answer:
    return Answer(
        FALLBACK,
        profile,
        other_career=True,
        moment=profile.day.moments[0],
        sentences=[profile.summary],
        missing_career="Astronaut",
        closest=[profile],
        passages=[profile.summary],
        section="work",
        uncovered="what to study",
    )


# The other intents' nodes are checked against content/questions.yaml (bot/contract.py).
CONTRACT = Contract(
    nodes=frozenset({f"answer_{FALLBACK}", "answer_passage"}), variables={"answer": _answer}
)
