"""Deterministic Pillow drawings of the five walkthrough classes for the local Open Images mirror.

Every picture is drawn at twice its final size on a random background and then halved, which
smooths the edges. All randomness comes from the ``seed`` passed to :func:`render_jpeg`, so the
same seed always gives the same JPEG bytes (with the same Pillow and libjpeg build).

One module per subject (:mod:`.instruments`, :mod:`.fruit`, :mod:`.cats`, :mod:`.snowman`), the
backgrounds (:mod:`.backgrounds`), the drawing tools (:mod:`.pen`), and :mod:`.scene`, which
puts them together.
"""

from __future__ import annotations

from helpers.local.openimages.drawing.scene import KINDS, SIZES, SUBJECTS, render, render_jpeg

__all__ = ["KINDS", "SIZES", "SUBJECTS", "render", "render_jpeg"]
