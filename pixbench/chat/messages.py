"""Chat messages as an OpenAI-compatible server takes them, and images as ``image_url`` data URLs.

A request is a list of :data:`Message` (``{"role": "system" | "user" | "assistant", "content": ...}``); the
content is a string, or a list of parts ``{"type": "text", "text": ...}`` and
``{"type": "image_url", "image_url": {"url": URL}}``. Images are sent inline as base64 JPEG data URLs
(:func:`image_data_url`), so a request holds everything it asks about and hashes into one cache key.

Pure and light: numpy and Pillow are imported by the functions that encode an image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    import numpy as np

__all__ = ["REFRESH_MODES", "Message", "RefreshMode", "image_data_url", "image_messages", "image_part"]

#: One chat message (OpenAI format).
Message = dict[str, Any]
#: Values of a client's ``refresh`` besides False: ask everything again, or only cached replies whose parsed
#: verdict is ``undetermined`` (see :class:`pixbench.chat.CachingChatClient`).
REFRESH_MODES = ("all", "undetermined")
RefreshMode = Literal["all", "undetermined"]


def image_data_url(image: np.ndarray, *, quality: int = 90) -> str:
    """A ``data:image/jpeg;base64,...`` URL of a uint8 ``[H, W, 3]`` RGB image, JPEG at ``quality``.

    Examples:
        >>> import numpy as np
        >>> image_data_url(np.zeros((2, 2, 3), dtype=np.uint8)).startswith("data:image/jpeg;base64,/9j/")
        True
    """
    import base64
    import io

    import numpy as np
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buffer, format="JPEG", quality=quality)
    return "data:image/jpeg;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def image_part(url: str) -> dict[str, Any]:
    """The content part ``{"type": "image_url", "image_url": {"url": url}}``."""
    return {"type": "image_url", "image_url": {"url": url}}


def image_messages(image: np.ndarray, text: str, *, system: str | None = None,
                   jpeg_quality: int = 95) -> list[Message]:
    """One user turn: the image as a base64 JPEG data URL, then ``text`` (after an optional system turn)."""
    user = {"role": "user", "content": [image_part(image_data_url(image, quality=jpeg_quality)),
                                        {"type": "text", "text": text}]}
    return [{"role": "system", "content": system}, user] if system is not None else [user]
