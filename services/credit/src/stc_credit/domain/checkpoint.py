"""Signed checkpoints of the publication log: C2SP signed-note + tlog-checkpoint, Ed25519.

Note (https://c2sp.org/signed-note): the text, a blank line, then one line per signature
`— <key name> <base64(4-byte key hash || 64-byte Ed25519 signature)>` (U+2014 EM DASH,
space). The signature is over the text bytes, final newline included. Key hash = first
4 bytes of SHA-256(key name || 0x0A || 0x01 || 32-byte public key); 0x01 is the Ed25519
signature type.

Key strings (the Go `golang.org/x/mod/sumdb/note` encoding):
- verifier key: `<name>+<8 lowercase hex digits of the key hash>+<base64(0x01 || public key)>`
- signer key:   `PRIVATE+KEY+<name>+<key hash hex>+<base64(0x01 || 32-byte seed)>`
  (a secret: the wiring reads it from settings, never logs it).

Checkpoint body (https://c2sp.org/tlog-checkpoint): `<origin>\\n<tree size>\\n<base64 root
hash>\\n`, optionally followed by extension lines, which are kept but not interpreted.

`parse_and_verify_checkpoint` accepts a note only when a signature by the given key
verifies; signatures by other keys are ignored, as the spec asks.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

ALG_ED25519 = 0x01
SIGNATURE_PREFIX = "\u2014 "  # EM DASH and a space
MAX_SIGNATURES = 100
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


class CheckpointError(ValueError):
    """A note or checkpoint was rejected. `reason` is a stable code:
    `malformed_note`, `malformed_checkpoint`, `malformed_key`, `no_signature_by_key`,
    `bad_signature`."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def _b64decode(text: str) -> bytes:
    try:
        data = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("invalid base64") from exc
    if base64.b64encode(data).decode("ascii") != text:  # one encoding per value
        raise ValueError("non-canonical base64")
    return data


def _check_key_name(name: str) -> None:
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise CheckpointError("malformed_key", f"invalid key name {name!r}")


def key_hash(name: str, public_key: bytes) -> bytes:
    """First 4 bytes of SHA-256(name || 0x0A || 0x01 || public key)."""
    return hashlib.sha256(
        name.encode("utf-8") + b"\n" + bytes([ALG_ED25519]) + public_key
    ).digest()[:4]


@dataclass(frozen=True)
class VerifierKey:
    """A parsed verifier key: name, 4-byte key hash and 32-byte Ed25519 public key."""

    name: str
    key_hash: bytes
    public_key: bytes

    def encode(self) -> str:
        """The `<name>+<hash hex>+<base64(0x01 || key)>` string."""
        blob = base64.b64encode(bytes([ALG_ED25519]) + self.public_key).decode("ascii")
        return f"{self.name}+{self.key_hash.hex()}+{blob}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        """Whether `signature` is this key's Ed25519 signature of `message`."""
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class SignerKey:
    """A parsed signer key: name and 32-byte Ed25519 seed (secret)."""

    name: str
    seed: bytes

    def __repr__(self) -> str:  # never print the seed
        return f"SignerKey(name={self.name!r})"

    @property
    def public_key(self) -> bytes:
        """The 32-byte public key."""
        return (
            Ed25519PrivateKey.from_private_bytes(self.seed)
            .public_key()
            .public_bytes(Encoding.Raw, PublicFormat.Raw)
        )

    @property
    def key_hash(self) -> bytes:
        """The 4-byte key hash."""
        return key_hash(self.name, self.public_key)

    def verifier(self) -> VerifierKey:
        """The matching verifier key."""
        return VerifierKey(self.name, self.key_hash, self.public_key)

    def encode(self) -> str:
        """The `PRIVATE+KEY+<name>+<hash hex>+<base64(0x01 || seed)>` string."""
        blob = base64.b64encode(bytes([ALG_ED25519]) + self.seed).decode("ascii")
        return f"PRIVATE+KEY+{self.name}+{self.key_hash.hex()}+{blob}"

    def sign(self, message: bytes) -> bytes:
        """Ed25519 signature of `message`."""
        return Ed25519PrivateKey.from_private_bytes(self.seed).sign(message)


def generate_key(name: str) -> tuple[str, str]:
    """A new Ed25519 key pair as (signer key string, verifier key string)."""
    _check_key_name(name)
    from cryptography.hazmat.primitives.serialization import NoEncryption, PrivateFormat

    seed = Ed25519PrivateKey.generate().private_bytes(
        Encoding.Raw, PrivateFormat.Raw, NoEncryption()
    )
    signer = SignerKey(name, seed)
    return signer.encode(), signer.verifier().encode()


def parse_verifier_key(text: str) -> VerifierKey:
    """Parse a verifier key string; CheckpointError(`malformed_key`) when invalid."""
    parts = text.split("+", 2)  # base64 may itself contain '+'
    if len(parts) != 3:
        raise CheckpointError("malformed_key", "verifier key must be name+hash+key")
    name, hash_hex, blob = parts
    _check_key_name(name)
    try:
        if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
            raise ValueError("key hash must be 8 lowercase hex digits")
        raw = _b64decode(blob)
    except ValueError as exc:
        raise CheckpointError("malformed_key", str(exc)) from exc
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise CheckpointError("malformed_key", "not an Ed25519 verifier key")
    key = VerifierKey(name, bytes.fromhex(hash_hex), raw[1:])
    if key_hash(name, key.public_key) != key.key_hash:
        raise CheckpointError("malformed_key", "key hash does not match name and key")
    return key


def parse_signer_key(text: str) -> SignerKey:
    """Parse a signer key string; CheckpointError(`malformed_key`) when invalid."""
    parts = text.split("+", 4)
    if len(parts) != 5 or parts[0] != "PRIVATE" or parts[1] != "KEY":
        raise CheckpointError("malformed_key", "signer key must be PRIVATE+KEY+name+hash+key")
    name, hash_hex, blob = parts[2:]
    _check_key_name(name)
    if not re.fullmatch(r"[0-9a-f]{8}", hash_hex):
        raise CheckpointError("malformed_key", "key hash must be 8 lowercase hex digits")
    try:
        raw = _b64decode(blob)
    except ValueError as exc:
        raise CheckpointError("malformed_key", str(exc)) from exc
    if len(raw) != 33 or raw[0] != ALG_ED25519:
        raise CheckpointError("malformed_key", "not an Ed25519 signer key")
    key = SignerKey(name, raw[1:])
    if key.key_hash.hex() != hash_hex:
        raise CheckpointError("malformed_key", "key hash does not match name and key")
    return key


@dataclass(frozen=True)
class Checkpoint:
    """A tree head: origin (log identity), tree size and 32-byte root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def body(self) -> str:
        """The tlog-checkpoint note text."""
        lines = [self.origin, str(self.size), base64.b64encode(self.root).decode("ascii")]
        return "".join(line + "\n" for line in (*lines, *self.extensions))


def parse_checkpoint_body(text: str) -> Checkpoint:
    """Parse a checkpoint note text; CheckpointError(`malformed_checkpoint`) when invalid."""
    if not text.endswith("\n"):
        raise CheckpointError("malformed_checkpoint", "text must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError("malformed_checkpoint", "need origin, size and root hash lines")
    origin, size_text, root_text, *extensions = lines
    if not origin:
        raise CheckpointError("malformed_checkpoint", "empty origin")
    if not _DECIMAL.fullmatch(size_text) or not size_text.isascii():
        raise CheckpointError("malformed_checkpoint", f"bad tree size {size_text!r}")
    try:
        root = _b64decode(root_text)
    except ValueError as exc:
        raise CheckpointError("malformed_checkpoint", f"root hash: {exc}") from exc
    if len(root) != 32:
        raise CheckpointError("malformed_checkpoint", "root hash must be 32 bytes")
    if any(not line for line in extensions):
        raise CheckpointError("malformed_checkpoint", "empty extension line")
    return Checkpoint(origin, int(size_text), root, tuple(extensions))


def _check_text(text: str) -> None:
    if not text or not text.endswith("\n"):
        raise CheckpointError("malformed_note", "text must be non-empty and end with newline")
    if any(ord(ch) < 0x20 and ch != "\n" or ch == "\x7f" for ch in text):
        raise CheckpointError("malformed_note", "control character in text")
    if "\n\n" in text:
        raise CheckpointError("malformed_note", "blank line in text")


def sign_note(text: str, signer: SignerKey | str) -> str:
    """The signed note: `text`, a blank line, and the signature line of `signer`."""
    key = parse_signer_key(signer) if isinstance(signer, str) else signer
    _check_text(text)
    blob = base64.b64encode(key.key_hash + key.sign(text.encode("utf-8"))).decode("ascii")
    return f"{text}\n{SIGNATURE_PREFIX}{key.name} {blob}\n"


def sign_checkpoint(checkpoint: Checkpoint, signer: SignerKey | str) -> str:
    """The checkpoint as a signed note."""
    if checkpoint.size < 0 or len(checkpoint.root) != 32:
        raise ValueError("checkpoint needs a size >= 0 and a 32-byte root")
    return sign_note(checkpoint.body(), signer)


@dataclass(frozen=True)
class _Signature:
    name: str
    key_hash: bytes
    signature: bytes


def _split_note(note: str) -> tuple[str, list[_Signature]]:
    if len(note) > 1_000_000:
        raise CheckpointError("malformed_note", "note too large")
    split = note.rfind("\n\n")
    if split < 0:
        raise CheckpointError("malformed_note", "no blank line before the signatures")
    text, block = note[: split + 1], note[split + 2 :]
    _check_text(text)
    if not block.endswith("\n"):
        raise CheckpointError("malformed_note", "signature block must end with a newline")
    signatures: list[_Signature] = []
    for line in block[:-1].split("\n"):
        if not line.startswith(SIGNATURE_PREFIX):
            raise CheckpointError("malformed_note", f"not a signature line: {line[:40]!r}")
        fields = line[len(SIGNATURE_PREFIX) :].split(" ")
        if len(fields) != 2 or not fields[0] or "+" in fields[0]:
            raise CheckpointError("malformed_note", "signature line is not '— name sig'")
        try:
            raw = _b64decode(fields[1])
        except ValueError as exc:
            raise CheckpointError("malformed_note", f"signature: {exc}") from exc
        if len(raw) < 5:
            raise CheckpointError("malformed_note", "signature too short")
        signatures.append(_Signature(fields[0], raw[:4], raw[4:]))
    if not signatures:
        raise CheckpointError("malformed_note", "no signature lines")
    if len(signatures) > MAX_SIGNATURES:
        raise CheckpointError("malformed_note", "too many signatures")
    return text, signatures


def open_note(note: str, verifier: VerifierKey | str) -> str:
    """The text of `note` after checking `verifier`'s signature on it."""
    key = parse_verifier_key(verifier) if isinstance(verifier, str) else verifier
    text, signatures = _split_note(note)
    message = text.encode("utf-8")
    for sig in signatures:
        if sig.name != key.name or sig.key_hash != key.key_hash:
            continue  # a signature by another key: ignored (signed-note §Verifying)
        if len(sig.signature) != 64 or not key.verify(message, sig.signature):
            raise CheckpointError("bad_signature", f"signature by {key.name} does not verify")
        return text
    raise CheckpointError("no_signature_by_key", f"no signature by {key.name}+{key.key_hash.hex()}")


def parse_and_verify_checkpoint(note: str, verifier_key: VerifierKey | str) -> Checkpoint:
    """The checkpoint in `note`, signed by `verifier_key`; CheckpointError otherwise."""
    return parse_checkpoint_body(open_note(note, verifier_key))
