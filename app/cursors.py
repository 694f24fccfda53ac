"""Opaque list cursors: a kind letter and a row position, base64url-encoded. A cursor this API did not
hand out (wrong kind, garbage, a number no row can have) is a 400, never a database error."""

import base64
import binascii

from fastapi import HTTPException

_MAX = 2**62  # above any id or sequence number; SQLite integers are 64-bit


def encode(kind: str, position: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{position}".encode()).decode().rstrip("=")


def decode(kind: str, cursor: str | None) -> int | None:
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor.encode() + b"==").decode()
        prefix, _, number = text.partition(":")
        position = int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError):
        position, prefix = -1, ""
    if prefix != kind or not 0 <= position < _MAX:
        raise HTTPException(400, "The cursor is not one this API handed out; start again without it.")
    return position
