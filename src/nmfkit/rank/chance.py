"""A randomized copy of V, to survey the ranks against chance (Frigyesi & Hoglund 2008).

Frigyesi & Hoglund (2008) choose the rank of NMF by comparing the survey of V with the same
survey of a randomized V, whose structure is destroyed but whose values are kept: a rank
deserves attention where the real curves (cophenetic correlation, residual sum of squares,
...) do clearly better than the randomized ones. R's NMF package does it with `randomize`.

Here every column of V is shuffled independently: each feature keeps its values (its
distribution, its missing entries), but which sample has which value no longer depends on the
other features. (R's NMF holds the samples in the columns, so its `randomize` keeps each
sample's values instead; both remove every dependence between the two.)
"""

import numpy as np
import scipy.sparse as sp

__all__ = ["shuffle_generator", "shuffled_copy"]


def shuffle_generator(rng):
    """A numpy Generator seeded by one draw from rng (a RandomState or a Generator): the
    shuffle is determined by the caller's random state, and Generator.permuted shuffles the
    columns of a dense matrix in one call."""
    if isinstance(rng, np.random.Generator):
        return np.random.default_rng(int(rng.integers(2**32)))
    return np.random.default_rng(int(rng.randint(2**32, dtype=np.int64)))


def shuffled_copy(M, generator):
    """V (the Matrix M) with the entries of each column permuted independently, as (V, mask)
    to pass to a survey: the caller's units and orientation; a new array, M is not changed.

    Dense V: a missing entry (NaN, or outside the mask M was made with) moves with its
    column's values, and mask is None (the NaN say it). Sparse V: the stored entries of each
    column go to randomly chosen distinct rows (a uniform shuffle of the column: the entries
    not stored, zeros or unobserved, take the other rows), and the result stays sparse; when
    M has a mask, the shuffled observed pattern is returned as mask.
    """
    m, n = M.shape
    if M.kind == "dense":
        # when M.V is V^T (M.transposed), V's columns are its rows
        V = generator.permuted(M.V, axis=1).T if M.transposed else \
            generator.permuted(M.V, axis=0)
        if M.scale != 1.0:
            V *= M.dtype.type(M.scale)  # a power of 4: exact
        return V, None
    indptr, _, data = M.XT
    rows = np.empty(data.size, dtype=np.intp)
    for j in np.flatnonzero(np.diff(indptr)):
        start, stop = indptr[j], indptr[j + 1]
        rows[start:stop] = generator.choice(m, size=stop - start, replace=False)
    values = data * M.dtype.type(M.scale) if M.scale != 1.0 else data.copy()
    V = sp.csc_matrix((values, rows, np.array(indptr)), shape=(m, n)).tocsr()
    V.sort_indices()
    if not M.masked:
        return V, None
    mask = sp.csr_matrix((np.ones(V.nnz, dtype=bool), V.indices.copy(), V.indptr.copy()),
                         shape=(m, n))
    return V, mask
