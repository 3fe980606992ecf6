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

    With documents as the rows of a document-term matrix X ~= W H, row t of H
    (``components_``) is topic t's weight on each term: its largest entries name the topic.

    Parameters
    ----------
    model_or_components : NMF, MiniBatchNMF or array-like of shape (n_topics, n_terms)
        A fitted model (its ``components_`` are used) or the components themselves.
    vocabulary : sequence of str or dict
        The n_terms terms in the order of the columns of X (e.g.
        ``CountVectorizer().get_feature_names_out()``); a dict term -> column index (a
        vectorizer's ``vocabulary_``) is also read.
    n : int, default=10
        Terms per topic; fewer when there are fewer terms.
    weights : bool, default=False
        Return (term, weight) pairs instead of terms.

    Returns
    -------
    list of list
        One list per topic: its terms, or (term, weight) pairs, by decreasing weight (ties
        in column order).

    Raises
    ------
    ValueError
        If the vocabulary does not have one term per column of the components.
    TypeError
        If the vocabulary is not an ordered sequence (a set or a string) or a dict.

    See Also
    --------
    nmfkit.document_topics : The topic mixture of each document.
    nmfkit.make_topic_corpus : A corpus with planted topics to try it on.
    nmfkit.extract_features : The features that define each component, by specificity.

    Examples
    --------
    >>> from nmfkit import NMF, make_topic_corpus, top_terms
    >>> corpus = make_topic_corpus(n_documents=200, n_topics=3, random_state=0)
    >>> model = NMF(3, init="nndsvda", max_iter=500, random_state=0).fit(corpus.counts)
    >>> sorted(terms[:2] for terms in top_terms(model, corpus.vocabulary, n=4))
    [['flour', 'butter'], ['goal', 'striker'], ['star', 'planet']]
    >>> term, weight = top_terms(model, corpus.vocabulary, n=1, weights=True)[0][0]
    >>> bool(weight > 0)
    True
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

    Row d of W holds how much of each topic document d contains; divided by its sum it is
    the share of each topic in the document.

    Parameters
    ----------
    W : array-like of shape (n_documents, n_topics)
        The nonnegative document factor, e.g. ``NMF.fit_transform(X)`` or
        ``NMF.transform(X)``. A row of zeros (a document with no known terms) stays all
        zeros.

    Returns
    -------
    ndarray of shape (n_documents, n_topics)
        A new float array whose nonzero rows sum to 1.

    Raises
    ------
    TypeError
        If a model is passed instead of its W.
    ValueError
        If W is not 2-D, or has negative or non-finite entries.

    See Also
    --------
    nmfkit.top_terms : The terms that name each topic.
    nmfkit.assign_clusters : Each sample's dominant component, and how clearly it is.

    Examples
    --------
    >>> from nmfkit import document_topics
    >>> document_topics([[1.0, 3.0], [0.0, 0.0], [2.0, 2.0]])
    array([[0.25, 0.75],
           [0.  , 0.  ],
           [0.5 , 0.5 ]])
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

    Each document has a topic mixture drawn from a symmetric Dirichlet(`concentration`)
    and about `words_per_document` words (Poisson); each word comes from one of the
    document's topics (Zipf-like weights over the topic's 12 words) or, with probability
    `background`, from a list of 10 common words shared by all topics. No word is in two
    topics, so the planted topics are what a topic model should find.

    Parameters
    ----------
    n_documents : int, default=300
        The number of documents.
    n_topics : int, optional
        How many of the six planted topics to use (at most 6), in the order astronomy,
        cooking, football, finance, music, gardening. Default: all six.
    words_per_document : int, default=60
        The mean length of a document (each has at least one word).
    concentration : float, default=0.2
        The Dirichlet parameter of the mixtures, > 0: small values give one or two topics
        per document, large values an even mixture.
    background : float, default=0.1
        The probability that a word is a common word, in [0, 1).
    random_state : None, int, RandomState or Generator, default=None
        Seeds the corpus; the same int seed gives the same corpus on every platform (a
        Generator seeds a RandomState from one draw).

    Returns
    -------
    TopicCorpus
        With the fields documents (list of str), counts (CSR matrix, documents x terms),
        vocabulary (ndarray of str, one per column of counts), topics (the planted topics'
        names), topic_words (one tuple of words per topic) and mixtures (ndarray of shape
        (n_documents, n_topics), the topic proportions each document was drawn from).

    Raises
    ------
    ValueError
        If a parameter is out of range (`n_topics` above 6, `background` of 1).

    See Also
    --------
    nmfkit.top_terms : The terms of each topic found.
    nmfkit.document_topics : The topic mixture of each document found.

    References
    ----------
    .. [1] Blei, D. M., Ng, A. Y. & Jordan, M. I. (2003). Latent Dirichlet allocation.
       Journal of Machine Learning Research 3, 993-1022.

    Examples
    --------
    >>> from nmfkit import make_topic_corpus
    >>> corpus = make_topic_corpus(n_documents=50, n_topics=3, random_state=0)
    >>> corpus.topics
    ('astronomy', 'cooking', 'football')
    >>> corpus.counts.shape, corpus.mixtures.shape
    ((50, 46), (50, 3))
    >>> len(corpus.documents), corpus.vocabulary[:3].tolist()
    (50, ['star', 'planet', 'telescope'])
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
