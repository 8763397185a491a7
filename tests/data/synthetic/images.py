"""Test images and measurements shared by the synthetic-blur tests."""

import numpy as np
from PIL import Image


def texture(height=96, width=128, seed=0):
    """Fine random texture: every pixel independent, so blur is measurable."""
    return (
        np.random.default_rng(seed).uniform(size=(height, width, 3)).astype("float32")
    )


def photo(height=96, width=128):
    from skimage import data

    image = Image.fromarray(data.astronaut()).resize((width, height), Image.LANCZOS)
    return np.asarray(image, dtype="float32") / 255.0


def impulses(height, width, spacing):
    """Isolated single-pixel dots on a grid, `spacing` pixels apart."""
    image = np.zeros((height, width), dtype="float32")
    image[spacing // 2 :: spacing, spacing // 2 :: spacing] = 1.0
    return image


def moments(kernel):
    """Centre of mass (row, col) and the 2x2 covariance of a kernel."""
    rows, cols = np.mgrid[0 : kernel.shape[0], 0 : kernel.shape[1]]
    points = np.stack([rows.ravel(), cols.ravel()])
    weights = kernel.ravel().astype("float64")
    centre = points @ weights / weights.sum()
    covariance = np.cov(points, aweights=weights, bias=True)
    return centre, covariance


def gradient_energy(image, mask=None):
    """Mean squared horizontal + vertical difference, optionally under a mask."""
    d_row = np.diff(image, axis=0)[:, :-1]
    d_col = np.diff(image, axis=1)[:-1, :]
    energy = d_row**2 + d_col**2
    if energy.ndim == 3:
        energy = energy.mean(axis=-1)
    if mask is None:
        return energy.mean()
    return energy[mask[:-1, :-1]].mean()
