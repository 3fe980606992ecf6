"""Parts of images: NMF components laid out as a grid of images."""

import numbers

import numpy as np

from ..core.inputs import components_array
from ..core.params import check_int

__all__ = ["parts_grid"]


def parts_grid(components, image_shape, *, n_cols=None, padding=1, normalize=True,
               pad_value=0.0):
    """Tile the components (one flattened image per row) into one 2-D image.

    components : a fitted NMF (its components_ are used) or an array (n_parts, h * w), each
        row a row-major flattened h x w image (as swimmer() and most image data sets store
        them).
    image_shape : (h, w).
    n_cols : images per row of the grid; default ceil(sqrt(n_parts)).
    padding : pixels of pad_value between images and around the grid (>= 0).
    normalize : if True (default), each image is divided by its largest value, so that every
        part spans [0, 1] whatever its scale (an all-zero part stays zero).

    Returns a float64 array of shape (rows * (h + padding) + padding,
    n_cols * (w + padding) + padding); image i sits in grid row i // n_cols, column
    i % n_cols. Empty cells at the end are pad_value.
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
