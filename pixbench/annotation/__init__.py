"""Raw annotation formats, the canonical RLE mask type, validation and drawing."""
