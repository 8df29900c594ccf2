"""From a student's quiz answers to their interest areas and matched careers, with the
reasons taken from what they said they liked. Pure: no database, no aiogram."""

from collections.abc import Mapping
from dataclasses import dataclass

from bot.content.catalog import Catalog
from bot.content.models import AREAS, Profile
from bot.content.quiz import AreaWords, Item, QuizSpec

CLEAR, FLAT, COLD = "clear", "flat", "cold"


@dataclass(frozen=True)
class Match:
    profile: Profile
    score: float
    # The `liked` words of the statements behind the match, strongest first (one or two).
    reasons: list[str]


@dataclass(frozen=True)
class Reading:
    """`verdict`: "clear" (areas and careers named), "flat" (the areas score too alike to
    tell) or "cold" (nothing was liked)."""

    verdict: str
    areas: list[AreaWords]
    matches: list[Match]


def area_scores(spec: QuizSpec, answers: Mapping[str, int]) -> dict[str, float]:
    """Each area's answer (0-4) averaged over the statements weighing on it, by weight;
    statements not answered (or no longer in content) do not count."""
    totals = {area: 0.0 for area in AREAS}
    weights = {area: 0.0 for area in AREAS}
    for item in spec.items:
        value = answers.get(item.id)
        if value is None:
            continue
        for area, weight in item.areas.items():
            totals[area] += weight * value
            weights[area] += weight
    return {area: totals[area] / weights[area] if weights[area] else 0.0 for area in AREAS}


def read_answers(spec: QuizSpec, catalog: Catalog, answers: Mapping[str, int]) -> Reading:
    scores = area_scores(spec, answers)
    liked = [item for item in spec.items if answers.get(item.id, 0) >= spec.liked_from]
    ranked = sorted(AREAS, key=lambda area: -scores[area])
    if max(scores.values()) - min(scores.values()) < spec.flat_spread:
        return Reading(FLAT, [], [])
    if not liked:
        return Reading(COLD, [], [])
    best = scores[ranked[0]]
    top = [area for area in ranked[:2] if scores[area] >= best - spec.area_margin]
    matches = []
    for profile in catalog.by_area:
        reasons = _reasons(spec, profile, liked, answers)
        if profile.interests and reasons:
            matches.append(Match(profile, _career_score(spec, profile, scores), reasons))
    # Stable: equal scores keep the career list's order.
    matches.sort(key=lambda match: -match.score)
    if not matches:
        return Reading(COLD, [], [])
    words = {str(area): found for area, found in spec.areas.items()}
    return Reading(CLEAR, [words[area] for area in top], matches[: spec.top_careers])


def _career_score(spec: QuizSpec, profile: Profile, scores: Mapping[str, float]) -> float:
    weights = spec.interest_weights
    pairs = list(zip(profile.interests, weights, strict=False))
    return sum(weight * scores[area] for area, weight in pairs) / sum(w for _, w in pairs)


def _reasons(
    spec: QuizSpec, profile: Profile, liked: list[Item], answers: Mapping[str, int]
) -> list[str]:
    """The liked statements that speak for this career's areas, most telling first: the
    answer times the weight the statement puts on the career's areas, by their rank."""
    rank = dict(zip(profile.interests, spec.interest_weights, strict=False))

    def telling(item: Item) -> float:
        return answers[item.id] * sum(w * rank.get(area, 0) for area, w in item.areas.items())

    found = sorted((item for item in liked if telling(item) > 0), key=lambda i: -telling(i))
    return [item.liked for item in found[:2]]
