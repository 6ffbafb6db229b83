"""Field encryption at rest and the keyed phone hash (bot/crypto.py)."""

from __future__ import annotations

import base64

import pytest

from bot.crypto import DecryptionError, FieldCipher, normalize_phone, phone_last4
from tests.conftest import DATA_KEY

KEY = base64.b64decode(DATA_KEY)
OTHER_KEY = bytes(range(32))


@pytest.fixture
def cipher() -> FieldCipher:
    return FieldCipher(KEY)


@pytest.mark.parametrize(
    "text",
    ["13800138000", "上海市浦东新区张江路 88 号 3 栋 1201 室", "", "emoji 🙂 and ' \" <xml>"],
)
def test_round_trip(cipher: FieldCipher, text: str) -> None:
    token = cipher.encrypt(text)
    assert text not in token or text == ""
    assert cipher.decrypt(token) == text
    # A second instance from the same key (another worker process) reads it too.
    assert FieldCipher(KEY).decrypt(token) == text


def test_ciphertext_differs_every_time(cipher: FieldCipher) -> None:
    tokens = {cipher.encrypt("北京市朝阳区") for _ in range(20)}
    assert len(tokens) == 20


def test_tampered_token_is_rejected(cipher: FieldCipher) -> None:
    token = cipher.encrypt("广州市天河区")
    raw = bytearray(base64.urlsafe_b64decode(token[3:]))
    for index in (0, 14, len(raw) - 1):  # nonce, ciphertext, tag
        changed = bytearray(raw)
        changed[index] ^= 0x01
        forged = "v1:" + base64.urlsafe_b64encode(bytes(changed)).decode()
        with pytest.raises(DecryptionError, match="tampered"):
            cipher.decrypt(forged)


@pytest.mark.parametrize("token", ["", "13800138000", "v1:", "v1:!!!!", "v1:AAAA", "v2:abcd"])
def test_garbage_is_rejected(cipher: FieldCipher, token: str) -> None:
    with pytest.raises(DecryptionError):
        cipher.decrypt(token)


def test_wrong_key_is_rejected(cipher: FieldCipher) -> None:
    token = cipher.encrypt("深圳市南山区")
    with pytest.raises(DecryptionError):
        FieldCipher(OTHER_KEY).decrypt(token)


def test_key_must_be_32_bytes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        FieldCipher(b"short")


@pytest.mark.parametrize(
    "raw",
    [
        "13800138000",
        "138 0013 8000",
        "138-0013-8000",
        "+86 13800138000",
        "+86-138-0013-8000",
        "0086 138 0013 8000",
        "8613800138000",
        "(+86) 138 0013 8000",
        "１３８００１３８０００",  # full-width digits from a Chinese keyboard
    ],
)
def test_normalize_phone(raw: str) -> None:
    assert normalize_phone(raw) == "13800138000"


def test_normalize_landline_keeps_trunk_zero() -> None:
    assert normalize_phone("010-1234 5678") == "01012345678"
    assert normalize_phone("+86 10 1234 5678") == "01012345678"
    assert normalize_phone("0755-8888 6666") == "075588886666"


def test_phone_hash_is_stable_and_normalized(cipher: FieldCipher) -> None:
    h = cipher.phone_hash("138 0013 8000")
    assert h == cipher.phone_hash("+86 13800138000")
    assert h == FieldCipher(KEY).phone_hash("0086-138-0013-8000")
    assert len(h) == 64 and int(h, 16) >= 0
    assert h != cipher.phone_hash("13800138001")
    # Keyed: another key gives another hash, and it is not the plain SHA-256.
    assert h != FieldCipher(OTHER_KEY).phone_hash("13800138000")
    import hashlib

    assert h != hashlib.sha256(b"13800138000").hexdigest()


def test_phone_hash_needs_digits(cipher: FieldCipher) -> None:
    with pytest.raises(ValueError):
        cipher.phone_hash("无")


def test_phone_last4() -> None:
    assert phone_last4("+86 138 0013 8000") == "8000"
