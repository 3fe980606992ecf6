"""The ranks to try: "2-8", "2,4,6" or range(2, 9), as the rank tools and the command line read
them."""

from ..core.params import check_int

__all__ = ["parse_ks"]


def parse_ks(ks, low=2):
    """Ranks as a tuple of distinct ints >= low, in the order given.

    Accepts an iterable of ints, a range, or a string such as "2-8", "2,4,6" or "2-4,8".
    """
    if isinstance(ks, str):
        values = []
        for part in ks.replace(" ", "").split(","):
            lo, sep, hi = part.partition("-")
            try:
                if sep:
                    a, b = int(lo), int(hi)
                    if b < a:
                        raise ValueError
                    values.extend(range(a, b + 1))
                else:
                    values.append(int(lo))
            except ValueError:
                raise ValueError(f"ks: cannot read {part!r} in {ks!r}; write ranks as '2-8', "
                                 "'2,4,6' or '2-4,8'.") from None
        ks = values
    try:
        ks = list(ks)
    except TypeError:
        raise TypeError(f"ks must be an iterable of integers (e.g. range(2, 9)) or a string "
                        f"such as '2-8', got {ks!r}.") from None
    if not ks:
        raise ValueError("ks is empty; give at least one rank, e.g. ks=range(2, 9).")
    out = tuple(check_int(k, "each rank in ks", low) for k in ks)
    if len(set(out)) != len(out):
        raise ValueError(f"ks has repeated ranks: {list(out)}; give each rank once.")
    return out
