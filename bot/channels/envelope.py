"""The AES envelope both Tencent callbacks use (公众号 安全模式 and 企业微信 应用回调):
``msg_signature`` = SHA-1 over (token, timestamp, nonce, Encrypt), AES-256-CBC with the
EncodingAESKey, and the receiver's id (AppID or CorpID) appended to the plaintext.

wechatpy's ``PrpCrypto`` does the AES and the id check; the signature is checked here,
in constant time (wechatpy compares with ``!=``).
"""

from __future__ import annotations

import base64
import binascii
import secrets
import time

from wechatpy.crypto import PrpCrypto
from wechatpy.enterprise.crypto import PrpCrypto as WorkPrpCrypto
from wechatpy.enterprise.exceptions import InvalidCorpIdException
from wechatpy.exceptions import InvalidAppIdException

from bot.channels.security import DoorError, cdata, check_signature, parse_xml, signature

_WRONG_RECEIVER = (InvalidAppIdException, InvalidCorpIdException)


def aes_key_bytes(encoding_aes_key: str) -> bytes:
    """The 43-character EncodingAESKey as its 32 bytes; ValueError when it is not one."""
    try:
        key = base64.b64decode(encoding_aes_key + "=", validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("EncodingAESKey is not base64") from None
    if len(key) != 32:
        raise ValueError("EncodingAESKey must be 43 characters (32 bytes)")
    return key


class AesEnvelope:
    """Open and seal one account's encrypted callbacks.

    ``wrong_receiver_status``: what a correctly encrypted message for another account
    gets. WeCom asks for the CorpID to be checked (403: it is not ours); the Official
    Account door has always answered 400 for a foreign AppID.
    """

    def __init__(
        self,
        token: str,
        encoding_aes_key: str,
        receiver_id: str,
        *,
        work: bool = False,
        wrong_receiver_status: int = 400,
    ) -> None:
        self.token = token
        self.receiver_id = receiver_id
        key = aes_key_bytes(encoding_aes_key)
        self._crypto = WorkPrpCrypto(key) if work else PrpCrypto(key)
        self.wrong_receiver_status = wrong_receiver_status

    def decrypt(self, encrypt: str, timestamp: str, nonce: str, msg_signature: str | None) -> str:
        """The plaintext of ``encrypt`` after its signature and receiver are checked."""
        if not encrypt:
            raise DoorError(400, "missing Encrypt")
        check_signature((self.token, timestamp, nonce, encrypt), msg_signature)
        try:
            plain = self._crypto.decrypt(encrypt, self.receiver_id)
        except _WRONG_RECEIVER:
            raise DoorError(self.wrong_receiver_status, "encrypted for another account") from None
        except Exception:  # bad padding, not base64, garbled length: the sender's fault
            raise DoorError(400, "cannot decrypt message") from None
        return plain.decode("utf-8") if isinstance(plain, bytes) else plain

    def open(
        self, fields: dict[str, str], timestamp: str, nonce: str, msg_signature: str | None
    ) -> dict[str, str]:
        """The decrypted message of a parsed envelope, parsed the same careful way."""
        plain = self.decrypt(fields.get("Encrypt", ""), timestamp, nonce, msg_signature)
        return parse_xml(plain.encode("utf-8"))

    def seal(self, xml: str) -> str:
        """A passive reply: encrypted, signed, with a fresh nonce."""
        timestamp = str(int(time.time()))
        nonce = secrets.token_hex(8)
        encrypt = self._crypto.encrypt(xml, self.receiver_id)
        encrypt = encrypt.decode() if isinstance(encrypt, bytes) else encrypt
        sig = signature(self.token, timestamp, nonce, encrypt)
        return (
            f"<xml><Encrypt>{cdata(encrypt)}</Encrypt>"
            f"<MsgSignature>{cdata(sig)}</MsgSignature>"
            f"<TimeStamp>{timestamp}</TimeStamp><Nonce>{cdata(nonce)}</Nonce></xml>"
        )
