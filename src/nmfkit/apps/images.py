"""Parts of images: NMF components laid out as a grid of images."""

import numbers

import numpy as np

from ..core.inputs import components_array
from ..core.params import check_int

__all__ = ["parts_grid"]


def parts_grid(components, image_shape, *, n_cols=None, padding=1, normalize=True,
               pad_value=0.0):
    """Tile the components (one flattened image per row) into one 2-D image.

    NMF of images, one flattened image per row of X, finds parts: each row of H
    (``components_``) is an image of what the component adds. This lays them out as a grid,
    ready for ``imshow``.

    Parameters
    ----------
    components : NMF, MiniBatchNMF or array-like of shape (n_parts, h * w)
        A fitted model (its ``components_`` are used) or an array, each row a row-major
        flattened h x w image (as `nmfkit.swimmer` and most image data sets store them).
        A 1-D array is one image.
    image_shape : tuple of int
        The images' (h, w).
    n_cols : int, optional
        Images per row of the grid; default ceil(sqrt(n_parts)), at most n_parts.
    padding : int, default=1
        Pixels of `pad_value` between the images and around the grid, >= 0.
    normalize : bool, default=True
        Divide each image by its largest absolute value, so that every part spans [0, 1]
        whatever its scale (an all-zero part stays zero).
    pad_value : float, default=0.0
        The value of the padding and of the empty cells at the end (NaN is allowed:
        `nmfkit.plot_parts` draws it in gray).

    Returns
    -------
    ndarray of shape (n_rows * (h + padding) + padding, n_cols * (w + padding) + padding)
        A float64 image; image i sits in grid row i // n_cols, column i % n_cols.

    Raises
    ------
    ValueError
        If `image_shape` does not have h * w pixels per component, or the components are
        not 1-D or 2-D.
    TypeError
        If `normalize` is not a bool or `pad_value` not a number.

    See Also
    --------
    nmfkit.plot_parts : Draws the grid.
    nmfkit.swimmer : Images made of 17 parts.

    Examples
    --------
    >>> import numpy as np
    >>> from nmfkit import parts_grid
    >>> parts = np.arange(1.0, 9.0).reshape(2, 4)  # two 2 x 2 images
    >>> parts_grid(parts, (2, 2), normalize=False)
    array([[0., 0., 0., 0., 0., 0., 0.],
           [0., 1., 2., 0., 5., 6., 0.],
           [0., 3., 4., 0., 7., 8., 0.],
           [0., 0., 0., 0., 0., 0., 0.]])
    >>> parts_grid(parts, (2, 2), n_cols=1, padding=0).shape
    (4, 2)
    """
    H = components_array(components)
    if not isinstance(normalize, (bool, np.bool_)):
        raise TypeError(f"normalize must be True or False, got {normalize!r}.")
    if not isinstance(pad_value, numbers.Real):  # NaN allowed: plot_parts draws it apart
        raise TypeError(f"pad_value must be a number, got {pad_value!r}.")
    if H.ndim == 1:
        H = H[None, :]
    if H.ndim != 2 or H.shape[0] == 0:
        raise ValueError(f"components must be 2-D (n_parts, n_pixels) with at least one part, "
                         f"got shape {H.shape}.")
    try:
        h, w = (check_int(v, "image_shape", 1) for v in image_shape)
    except (TypeError, ValueError):
        raise ValueError(f"image_shape must be (height, width) with positive integers, got "
                         f"{image_shape!r}.") from None
    if h * w != H.shape[1]:
        raise ValueError(f"image_shape {(h, w)} has {h * w} pixels but each component has "
                         f"{H.shape[1]}; pass the shape the images were flattened from.")
    n = H.shape[0]
    n_cols = int(np.ceil(np.sqrt(n))) if n_cols is None else check_int(n_cols, "n_cols")
    n_cols = min(n_cols, n)
    n_rows = -(-n // n_cols)
    padding = check_int(padding, "padding", 0)
    images = H.reshape(n, h, w)
    if normalize:
        peaks = np.abs(images).max(axis=(1, 2), keepdims=True)
        images = np.divide(images, peaks, out=np.zeros_like(images), where=peaks > 0)
    grid = np.full((n_rows * (h + padding) + padding, n_cols * (w + padding) + padding),
                   pad_value, dtype=np.float64)
    for i in range(n):
        r, c = divmod(i, n_cols)
        top, left = padding + r * (h + padding), padding + c * (w + padding)
        grid[top:top + h, left:left + w] = images[i]
    return grid
