"""Field encryption for sensitive data at rest (customer phone and address).

Why AES-256-GCM rather than Fernet: both come from ``cryptography`` and both are
authenticated, but Fernet is AES-128-CBC + HMAC-SHA256 with a timestamp and a
version byte, and wants its own 32-byte key split in two halves. AES-GCM is one
primitive with a 256-bit key, gives a shorter token (12-byte nonce + 16-byte tag
instead of 57 bytes of overhead) and needs no timestamp — the age of a phone
number says nothing about whether it may be decrypted. Random 96-bit nonces are
safe for far more than the 2^32 encryptions a CRM of a small sales team will ever
make under one key.

One configured secret (``security.data_key``, 32 bytes) is never used directly:
HKDF-SHA256 derives one sub-key for encryption and another for the phone hash,
so the two uses can never interfere and a leaked hash key does not decrypt.

Token format: ``v1:`` + URL-safe base64 of nonce || ciphertext || tag. The prefix
lets a later key rotation or algorithm change tell old tokens from new ones.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import unicodedata
from functools import lru_cache
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

KEY_BYTES = 32
NONCE_BYTES = 12
TOKEN_PREFIX = "v1:"

# HKDF "info" labels: changing one changes its sub-key, so they are part of the format.
_ENC_INFO = b"wecrm field encryption v1"
_HASH_INFO = b"wecrm phone hash v1"


class DecryptionError(ValueError):
    """A token that cannot be decrypted: tampered with, truncated, or made with another key."""


def _derive(key: bytes, info: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=info).derive(key)


def normalize_phone(phone: str) -> str:
    """Digits only, without the Chinese country code.

    ``"138 0013 8000"``, ``"+86 138-0013-8000"``, ``"0086 13800138000"`` and
    ``"８６13800138000"`` all become ``"13800138000"``. A landline written
    internationally (``+86 10 1234 5678``) gets its trunk ``0`` back, so it
    matches the domestic spelling ``010-12345678``.
    """
    # NFKC turns full-width digits and plus signs (typed on Chinese phone keyboards)
    # into ASCII ones.
    text = unicodedata.normalize("NFKC", phone).strip()
    had_country_code = False
    compact = "".join(ch for ch in text if ch.isdigit() or ch == "+")
    if compact.startswith("+86"):
        compact, had_country_code = compact[3:], True
    elif compact.startswith("0086"):
        compact, had_country_code = compact[4:], True
    digits = "".join(ch for ch in compact if "0" <= ch <= "9")
    # "8613800138000": the country code without "+", as some address books export it.
    if not had_country_code and len(digits) == 13 and digits.startswith("861"):
        digits, had_country_code = digits[2:], True
    is_mobile = len(digits) == 11 and digits.startswith("1")
    if had_country_code and digits and not is_mobile and not digits.startswith("0"):
        digits = "0" + digits
    return digits


def phone_last4(phone: str) -> str:
    """The last four digits of the normalized number, shown and searched in clear."""
    return normalize_phone(phone)[-4:]


class FieldCipher:
    """Encrypts and decrypts text fields, and hashes phone numbers for lookup."""

    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise ValueError(f"data key must be {KEY_BYTES} bytes, got {len(key)}")
        self._aead = AESGCM(_derive(key, _ENC_INFO))
        self._hash_key = _derive(key, _HASH_INFO)

    def encrypt(self, text: str) -> str:
        """A fresh token for ``text``: the same text never gives the same token twice."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = self._aead.encrypt(nonce, text.encode("utf-8"), None)
        return TOKEN_PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, token: str) -> str:
        """The text sealed in ``token``; :class:`DecryptionError` if it is not authentic."""
        if not isinstance(token, str) or not token.startswith(TOKEN_PREFIX):
            raise DecryptionError("not a wecrm field token (missing v1: prefix)")
        try:
            raw = base64.urlsafe_b64decode(token[len(TOKEN_PREFIX) :].encode("ascii"))
        except (binascii.Error, UnicodeEncodeError):
            raise DecryptionError("field token is not valid base64") from None
        # Nonce plus at least the 16-byte tag.
        if len(raw) < NONCE_BYTES + 16:
            raise DecryptionError("field token is truncated")
        try:
            plain = self._aead.decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], None)
        except InvalidTag:
            raise DecryptionError(
                "field token failed authentication: tampered with or encrypted with another key"
            ) from None
        return plain.decode("utf-8")

    def encrypt_json(self, data: Any) -> str:
        return self.encrypt(json.dumps(data, ensure_ascii=False, separators=(",", ":")))

    def decrypt_json(self, token: str) -> Any:
        return json.loads(self.decrypt(token))

    def phone_hash(self, phone: str) -> str:
        """Keyed HMAC-SHA256 (hex) of the normalized number, for exact lookup.

        Keyed, because an unkeyed hash of an 11-digit number is reversed by trying
        all of them in minutes.
        """
        digits = normalize_phone(phone)
        if not digits:
            raise ValueError("phone number has no digits")
        return hmac.new(self._hash_key, digits.encode("ascii"), hashlib.sha256).hexdigest()


@lru_cache(maxsize=4)
def cipher_for(key: bytes) -> FieldCipher:
    """One cipher per key for the process: HKDF runs once, not once per message."""
    return FieldCipher(key)
