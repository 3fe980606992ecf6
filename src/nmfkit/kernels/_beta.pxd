# Elementwise pieces of the beta-divergence family (Fevotte & Idier 2011), shared by the
# dense and CSR kernels. For beta < 2 a product wh below `tiny` is read as tiny, so that no
# negative power of zero is ever taken (scikit-learn clips at its EPSILON the same way).
from libc.math cimport exp, log, sqrt


cdef inline double clip_wh(double wh, double beta, double tiny) noexcept nogil:
    if beta < 2.0 and wh < tiny:
        return tiny
    return wh


cdef inline double pow_m2(double wh, double beta) noexcept nogil:
    """wh^(beta - 2) for wh >= 0: divisions and square roots for the common betas, else
    exp((beta - 2) log wh), about twice as fast as pow() (which handles cases that cannot
    occur here) and as accurate to a few ulps."""
    cdef double r
    if beta == 2.0:
        return 1.0
    if beta == 1.0:
        return 1.0 / wh
    if beta == 0.0:
        r = 1.0 / wh
        return r * r
    if beta == 3.0:
        return wh
    if beta == 1.5:
        return 1.0 / sqrt(wh)
    if beta == 0.5:
        return 1.0 / (wh * sqrt(wh))
    if beta == 2.5:
        return sqrt(wh)
    return exp((beta - 2.0) * log(wh))


cdef inline double beta_div(double v, double wh, double beta, double tiny) noexcept nogil:
    """d_beta(v | wh) of one entry. v = 0 needs beta > 0 (checked by the caller's caller)."""
    cdef double r
    if beta == 2.0:
        r = v - wh
        return 0.5 * r * r
    if beta == 1.0:  # the clip enters the logarithm only, as in the sparse sum(WH) term
        if v > 0.0:
            return v * log(v / clip_wh(wh, beta, tiny)) - v + wh
        return wh
    wh = clip_wh(wh, beta, tiny)
    if beta == 0.0:
        return v / wh - log(v / wh) - 1.0
    r = wh * pow_m2(wh, beta)  # wh^(beta - 1)
    if v > 0.0:
        return (v * v * pow_m2(v, beta) + (beta - 1.0) * wh * r - beta * v * r) / (
            beta * (beta - 1.0))
    return wh * r / beta
