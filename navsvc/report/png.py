"""Matplotlib figures as PNG bytes (Agg, no display), for every figure of the report.

Kept apart from the figures' modules so that a process drawing one figure
(:mod:`navsvc.report.figure_process`) loads matplotlib and nothing else.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402

#: PNG deflate level of the figures: 1 encodes several times faster than the default 6
#: for a few per cent more bytes (the images stay lossless).
PNG_COMPRESS_LEVEL = 1


def figure_png(fig, dpi: int) -> bytes:
    """The figure as PNG bytes (closed afterwards).

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        The figure; saved with its own face colour.
    dpi : int
        Resolution of the PNG, dots per inch.

    Returns
    -------
    bytes
        The PNG image.
    """
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, facecolor=fig.get_facecolor(),
                pil_kwargs={"compress_level": PNG_COMPRESS_LEVEL})
    plt.close(fig)
    return buffer.getvalue()
