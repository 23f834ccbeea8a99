"""`pixbench.chat.messages`: images as JPEG data URLs inside chat messages (one helper for every caller)."""

from __future__ import annotations

import base64
import io

import numpy as np
from PIL import Image

from pixbench.chat import image_data_url, image_messages, image_part


def _decoded(url: str) -> np.ndarray:
    head, _, data = url.partition(",")
    assert head == "data:image/jpeg;base64"
    image = Image.open(io.BytesIO(base64.b64decode(data)))
    assert image.format == "JPEG"
    return np.asarray(image.convert("RGB"))


def test_data_url_round_trip() -> None:
    image = np.zeros((24, 40, 3), dtype=np.uint8)
    image[:, 20:] = (200, 40, 10)
    decoded = _decoded(image_data_url(image, quality=100))
    assert decoded.shape == (24, 40, 3)
    away = np.r_[0:16, 24:40]  # away from the edge, which JPEG's chroma subsampling blurs
    assert np.abs(decoded[:, away].astype(int) - image[:, away]).max() <= 3  # JPEG at quality 100
    assert len(image_data_url(image, quality=10)) < len(image_data_url(image, quality=100))


def test_image_messages_put_the_image_before_the_text() -> None:
    image = np.full((8, 8, 3), 255, dtype=np.uint8)
    (user,) = image_messages(image, "Which option?", jpeg_quality=95)
    assert user["role"] == "user"
    first, second = user["content"]
    assert first == image_part(image_data_url(image, quality=95))
    assert first["type"] == "image_url" and second == {"type": "text", "text": "Which option?"}
    system, user = image_messages(image, "Locate it.", system="You locate things.")
    assert system == {"role": "system", "content": "You locate things."} and user["content"][1]["text"] == "Locate it."


def test_earlier_homes_of_the_helpers_are_the_same_functions() -> None:
    from pixbench.baselines import autoselect
    from pixbench.served import image_messages as served_image_messages

    assert autoselect.image_data_url is image_data_url
    assert served_image_messages is image_messages
