"""Intents learnt from content's example questions (`content/examples/*.yaml`).

Keywords and phrases answer what their authors foresaw; students word the same things in
ways nobody lists. A linear classifier (scikit-learn: TF-IDF of word 1-2-grams and of
character 2-5-grams, logistic loss by SGD) learns the intents from the example questions,
each read as the matcher reads a question (typos folded, career names as one word), and
answers for the question when it is sure enough (`example_min_probability`).

scikit-learn is imported and the model fitted by `fit()` (the bot's start-up, or the first
question of `careerbot ask`), not at import: `content check` never pays for it.
"""

from dataclasses import dataclass
from typing import Any

# Fixed, so that the same examples always give the same answers.
_SEED = 0


@dataclass(frozen=True)
class Guess:
    intent: str
    probability: float


class ExampleModel:
    def __init__(self, texts: list[str], intents: list[str]) -> None:
        self._texts = texts
        self._intents = intents
        self._model: Any = None

    @property
    def fitted(self) -> bool:
        return self._model is not None or len(set(self._intents)) < 2

    def fit(self) -> None:
        """Learns the intents; fewer than two intents among the examples teach nothing."""
        if self.fitted:
            return
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import SGDClassifier
        from sklearn.pipeline import make_pipeline, make_union

        features = make_union(
            TfidfVectorizer(analyzer="word", ngram_range=(1, 2), sublinear_tf=True),
            TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2),
        )
        classifier = SGDClassifier(loss="log_loss", alpha=1e-4, max_iter=50, random_state=_SEED)
        self._model = make_pipeline(features, classifier).fit(self._texts, self._intents)

    def guess(self, text: str) -> Guess | None:
        """The most probable intent of a question read as the examples were."""
        self.fit()
        if self._model is None or not text.strip():
            return None
        probabilities = self._model.predict_proba([text])[0]
        best = int(probabilities.argmax())
        return Guess(str(self._model.classes_[best]), float(probabilities[best]))
