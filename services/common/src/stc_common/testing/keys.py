"""Signing keys for tests that need a token the platform must refuse."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = ["foreign_signing_key_pem"]


def foreign_signing_key_pem() -> str:
    """A fresh Ed25519 private key (PKCS#8 PEM) that no verifier trusts: a token signed with it
    is forged."""
    return (
        Ed25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
