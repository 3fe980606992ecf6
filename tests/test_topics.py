"""Topic modeling helpers: top_terms, document_topics and the generated corpus."""

import re
from collections import Counter

import numpy as np
import pytest
import scipy.sparse as sp
from scipy.optimize import linear_sum_assignment

from nmfkit import NMF, document_topics, make_topic_corpus, top_terms
from nmfkit._topics import TOPIC_WORDS


@pytest.fixture(scope="module")
def corpus():
    return make_topic_corpus(random_state=0)


def test_corpus_counts_are_the_words_of_the_documents(corpus):
    assert len(corpus.documents) == corpus.counts.shape[0] == corpus.mixtures.shape[0] == 300
    assert corpus.counts.shape[1] == len(corpus.vocabulary) == len(set(corpus.vocabulary))
    column = {w: j for j, w in enumerate(corpus.vocabulary)}
    for d in (0, 17, 299):
        counted = Counter(corpus.documents[d].split())
        row = corpus.counts[d].toarray().ravel()
        assert {w: int(row[column[w]]) for w in counted} == dict(counted)
        assert row.sum() == sum(counted.values())
    np.testing.assert_allclose(corpus.mixtures.sum(axis=1), 1.0)
    assert corpus.topics == tuple(TOPIC_WORDS)
    assert all(re.fullmatch(r"[a-z ]+", doc) for doc in corpus.documents)


def test_corpus_is_reproducible_and_sized_by_its_arguments():
    a = make_topic_corpus(n_documents=20, n_topics=3, random_state=1)
    b = make_topic_corpus(n_documents=20, n_topics=3, random_state=1)
    assert a.documents == b.documents and len(a.topics) == 3
    assert a.counts.shape == (20, 3 * 12 + 10)
    with pytest.raises(ValueError, match="n_topics must be at most 6"):
        make_topic_corpus(n_topics=7)
    with pytest.raises(ValueError, match="background"):
        make_topic_corpus(background=1.0)


@pytest.mark.parametrize("loss", ["kullback-leibler", "frobenius"])
def test_planted_topics_are_recovered(corpus, loss):
    model = NMF(6, beta_loss=loss, random_state=0, max_iter=500)
    W = model.fit_transform(corpus.counts)
    learned = top_terms(model, corpus.vocabulary, n=10)
    overlap = np.array([[len(set(t) & set(words)) for words in corpus.topic_words]
                        for t in learned])
    rows, cols = linear_sum_assignment(overlap, maximize=True)
    # each learned topic's ten top terms are ten words of a distinct planted topic
    assert (overlap[rows, cols] == 10).all()
    mixtures = document_topics(W)[:, np.argsort(cols)]
    assert np.abs(mixtures - corpus.mixtures).mean() < 0.05


def test_top_terms_orders_by_weight():
    H = np.array([[0.1, 3.0, 2.0, 0.0], [5.0, 0.0, 1.0, 4.0]])
    vocab = ["a", "b", "c", "d"]
    assert top_terms(H, vocab, n=2) == [["b", "c"], ["a", "d"]]
    assert top_terms(H, vocab, n=9)[1] == ["a", "d", "c", "b"]  # n capped at the vocabulary
    pairs = top_terms(sp.csr_matrix(H), np.array(vocab), n=3, weights=True)
    assert pairs[0] == [("b", 3.0), ("c", 2.0), ("a", 0.1)]


def test_top_terms_rejects_a_mismatched_vocabulary():
    with pytest.raises(ValueError, match="vocabulary has 3 terms but the components have 4"):
        top_terms(np.ones((2, 4)), ["a", "b", "c"])
    with pytest.raises(ValueError, match="2-D"):
        top_terms(np.ones(4), list("abcd"))
    with pytest.raises(ValueError, match="n must be"):
        top_terms(np.ones((2, 4)), list("abcd"), n=0)


def test_document_topics_are_mixtures():
    W = np.array([[1.0, 3.0], [0.0, 0.0], [2.0, 0.0]])
    before = W.copy()
    D = document_topics(W)
    np.testing.assert_allclose(D, [[0.25, 0.75], [0, 0], [1, 0]])
    np.testing.assert_array_equal(W, before)
    np.testing.assert_allclose(document_topics(sp.csr_matrix(W)), D)
    with pytest.raises(ValueError, match="nonnegative"):
        document_topics(-W)
    with pytest.raises(ValueError, match="2-D"):
        document_topics(np.ones(3))
