"""Exceptions raised by :mod:`crypto`.

Every message is fixed text chosen here. None of them ever interpolates a key, a
passphrase, a receipt, plaintext or ciphertext, so an exception that reaches a log or an
error page cannot leak secret material (tests/crypto/test_errors.py checks this).
"""

from __future__ import annotations


class CryptoError(Exception):
    """Base class of every error raised by :mod:`crypto`."""

    default_message = "cryptographic operation failed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or self.default_message)


class DecryptionError(CryptoError):
    """Something could not be decrypted (wrong key, corrupted or forged data)."""

    default_message = "decryption failed"


class TamperedEnvelope(DecryptionError):
    """An envelope's body or header failed authentication or is not well formed."""

    default_message = "envelope is corrupted or has been tampered with"


class UnknownRecipient(DecryptionError):
    """The given key is not (or no longer) among an envelope's recipients."""

    default_message = "this key is not a recipient of the envelope"


class WrongPassphrase(DecryptionError):
    """A wrapped private key could not be opened with the given passphrase."""

    default_message = "wrong passphrase or corrupted key file"


class UnsupportedVersion(CryptoError):
    """A format version this code does not understand."""

    default_message = "unsupported format version"


class MalformedReceipt(CryptoError):
    """What was typed is not shaped like a receipt code (length or characters)."""

    default_message = "not a receipt code: check the length and the characters"


class ReceiptTypo(MalformedReceipt):
    """The code is shaped right but its check characters do not match: a typo."""

    default_message = "receipt code has a typo: the check characters do not match"


class SyncMessageError(CryptoError):
    """Base class of sync-message verification failures."""

    default_message = "sync message rejected"


class MalformedMessage(SyncMessageError):
    """A sync message that cannot be parsed."""

    default_message = "sync message is malformed"


class ForgedMessage(SyncMessageError):
    """A sync message whose signature does not verify under the pinned key."""

    default_message = "sync message signature is invalid"


class StaleMessage(SyncMessageError):
    """A sync message whose timestamp is outside the allowed clock skew."""

    default_message = "sync message is too old or from the future"


class ReplayedMessage(SyncMessageError):
    """A sync message whose nonce has been seen before."""

    default_message = "sync message was already received (replay)"


class WrongPurpose(SyncMessageError):
    """A validly signed sync message used for a different purpose or request."""

    default_message = "sync message was signed for another purpose"
