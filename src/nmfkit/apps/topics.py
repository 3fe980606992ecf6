"""Topic models: the top terms of each topic, the topic mixture of each document, and a small
generated corpus with planted topics (no download) to try them on.

With documents as rows of a document-term matrix X (counts or tf-idf), NMF's X ~= W H reads
as: row t of H (components_) is topic t's weight on each term, and row d of W is how much of
each topic document d contains.
"""

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from ..core.inputs import components_array, float_array
from ..core.params import check_float, check_int
from ..core.random import legacy_random_state

__all__ = ["top_terms", "document_topics", "make_topic_corpus", "TopicCorpus", "TOPIC_WORDS"]

# Planted topics of make_topic_corpus: 12 words each, no word in two topics.
TOPIC_WORDS = {
    "astronomy": ("star", "planet", "telescope", "orbit", "galaxy", "comet", "nebula",
                  "asteroid", "moon", "eclipse", "cosmos", "supernova"),
    "cooking": ("flour", "butter", "oven", "recipe", "garlic", "simmer", "sauce", "dough",
                "onion", "pepper", "roast", "skillet"),
    "football": ("goal", "striker", "referee", "penalty", "midfield", "league", "keeper",
                 "tackle", "stadium", "coach", "offside", "match"),
    "finance": ("stock", "bond", "dividend", "interest", "market", "inflation", "portfolio",
                "equity", "loan", "investor", "yield", "currency"),
    "music": ("guitar", "melody", "chord", "rhythm", "piano", "concert", "tempo", "violin",
              "album", "lyrics", "drummer", "harmony"),
    "gardening": ("seed", "soil", "compost", "tulip", "prune", "weed", "shovel", "hedge",
                  "blossom", "mulch", "greenhouse", "sprout"),
}
# Words every topic uses a little (stop-word-like background).
_COMMON = ("new", "year", "people", "good", "time", "first", "great", "made", "week", "best")


def _components(model_or_components):
    H = components_array(model_or_components)
    if H.ndim != 2:
        raise ValueError(f"components must be a fitted NMF model or a 2-D array (n_topics, "
                         f"n_terms), got an array of shape {H.shape}.")
    return H


def _vocabulary(vocabulary, n_terms):
    """The terms as a 1-D object array, one per column of the components.

    A dict is read as scikit-learn's CountVectorizer.vocabulary_ (term -> column index)."""
    if isinstance(vocabulary, dict):
        values = list(vocabulary.values())
        columns = np.asarray(values) if values else np.empty(0, dtype=np.intp)
        if columns.dtype.kind not in "iu" or not np.array_equal(np.sort(columns),
                                                                np.arange(n_terms)):
            raise ValueError(f"vocabulary is a dict, read as term -> column index (as "
                             f"CountVectorizer.vocabulary_), but its {len(vocabulary)} values "
                             f"are not the column indices 0..{n_terms - 1} of the components; "
                             "pass the vectorizer's get_feature_names_out() instead.")
        terms = np.empty(n_terms, dtype=object)
        terms[columns] = list(vocabulary)
        return terms
    if vocabulary is None or isinstance(vocabulary, (str, bytes, set, frozenset)) or not (
            hasattr(vocabulary, "__iter__")):
        raise TypeError(f"vocabulary must be an ordered sequence of terms, one per column "
                        f"(e.g. CountVectorizer().get_feature_names_out()), got a "
                        f"{type(vocabulary).__name__}.")
    if not hasattr(vocabulary, "__len__"):  # a generator or another one-pass iterator
        vocabulary = list(vocabulary)
    terms = np.asarray(vocabulary, dtype=object)
    if terms.ndim != 1:
        raise ValueError(f"vocabulary must be 1-D, one term per column, got shape "
                         f"{terms.shape}.")
    if terms.shape[0] != n_terms:
        raise ValueError(f"vocabulary has {terms.shape[0]} terms but the components have "
                         f"{n_terms} columns; pass the vocabulary the matrix was built with, "
                         "one term per column.")
    return terms


def top_terms(model_or_components, vocabulary, n=10, *, weights=False):
    """The n terms with the largest weight in each topic, largest first.

    model_or_components : a fitted NMF (its components_ are used) or an array
        (n_topics, n_terms).
    vocabulary : sequence of n_terms terms (e.g. CountVectorizer().get_feature_names_out()),
        in the order of the columns of X; a dict term -> column index (a vectorizer's
        vocabulary_) is also read.
    n : int, default=10. Fewer are returned when a topic has fewer terms.
    weights : if True, return (term, weight) pairs instead of terms.

    Returns a list with one list per topic.
    """
    H = _components(model_or_components)
    vocabulary = _vocabulary(vocabulary, H.shape[1])
    n = min(check_int(n, "n"), H.shape[1])
    if not isinstance(weights, (bool, np.bool_)):
        raise TypeError(f"weights must be True or False, got {weights!r}.")
    out = []
    for row in H:
        idx = np.argsort(-row, kind="stable")[:n]
        out.append([(vocabulary[j], float(row[j])) for j in idx] if weights
                   else [vocabulary[j] for j in idx])
    return out


def document_topics(W):
    """Each document's topic mixture: the rows of W scaled to sum to 1.

    W : array (n_documents, n_topics), e.g. NMF.fit_transform(X) or transform(X). A row of
    zeros (a document with no known terms) stays all zeros. Returns a new float array.
    """
    if hasattr(W, "fit") or hasattr(W, "components_"):
        raise TypeError(f"W must be the document-topic array (n_documents, n_topics) of "
                        f"fit_transform(X) or transform(X), got a {type(W).__name__}: call "
                        "model.transform(X) first.")
    W = float_array(W, "W", "a numeric array (n_documents, n_topics)")
    if W.ndim != 2:
        raise ValueError(f"W must be 2-D (n_documents, n_topics), got shape {W.shape}.")
    if not np.all(np.isfinite(W)) or (W.size and W.min() < 0):
        raise ValueError("W must be finite and nonnegative (an NMF W); got negative or "
                         "non-finite entries.")
    totals = W.sum(axis=1, keepdims=True)
    return np.divide(W, totals, out=np.zeros_like(W), where=totals > 0)


@dataclass
class TopicCorpus:
    """A generated corpus: documents (list of str), counts (CSR, documents x terms),
    vocabulary (array of str, one per column of counts), topics (the planted topic names),
    topic_words (tuple of word tuples, one per topic) and mixtures (documents x topics,
    the true topic proportions each document was drawn from)."""
    documents: list
    counts: sp.csr_matrix
    vocabulary: np.ndarray
    topics: tuple
    topic_words: tuple
    mixtures: np.ndarray


def make_topic_corpus(n_documents=300, n_topics=None, words_per_document=60, concentration=0.2,
                      background=0.1, random_state=None):
    """Short documents drawn from planted topics (a small LDA-style generator, no download).

    Each document has a topic mixture drawn from a symmetric Dirichlet(concentration) (small
    values: one or two topics per document) and about words_per_document words (Poisson);
    each word comes from one of the document's topics (Zipf-like weights over its 12 words)
    or, with probability background, from a list of common words shared by all topics.

    n_topics : int <= 6 or None (all six: astronomy, cooking, football, finance, music,
    gardening).
    Returns a TopicCorpus.
    """
    names = tuple(TOPIC_WORDS)
    n_topics = len(names) if n_topics is None else check_int(n_topics, "n_topics")
    if n_topics > len(names):
        raise ValueError(f"n_topics must be at most {len(names)}, got {n_topics}.")
    n_documents = check_int(n_documents, "n_documents")
    words_per_document = check_int(words_per_document, "words_per_document")
    concentration = check_float(concentration, "concentration", 0.0, low_open=True)
    background = check_float(background, "background", 0.0, 1.0)
    if background == 1.0:
        raise ValueError("background must be in [0, 1), got 1.0: with 1 no word would come "
                         "from a topic.")
    rng = legacy_random_state(random_state)
    names = names[:n_topics]
    topic_words = tuple(TOPIC_WORDS[t] for t in names)
    vocabulary = np.array([w for words in topic_words for w in words] + list(_COMMON))
    index = {w: j for j, w in enumerate(vocabulary)}
    zipf = 1.0 / np.arange(1, 13) ** 0.7
    zipf /= zipf.sum()
    mixtures = rng.dirichlet(np.full(n_topics, concentration), size=n_documents)
    documents = []
    rows, cols = [], []
    for d in range(n_documents):
        length = max(1, rng.poisson(words_per_document))
        topic = rng.choice(n_topics, size=length, p=mixtures[d])
        slot = rng.choice(12, size=length, p=zipf)
        common = rng.random_sample(length) < background
        words = [_COMMON[rng.randint(len(_COMMON))] if c else topic_words[t][s]
                 for t, s, c in zip(topic, slot, common)]
        documents.append(" ".join(words))
        rows.extend([d] * length)
        cols.extend(index[w] for w in words)
    counts = sp.csr_matrix((np.ones(len(rows)), (rows, cols)),
                           shape=(n_documents, len(vocabulary)))
    counts.sum_duplicates()
    return TopicCorpus(documents, counts, vocabulary, names, topic_words, mixtures)
