"""C2SP signed-note checkpoints: format, Go interoperability, rejections."""

from __future__ import annotations

import base64

import pytest
from stc_credit.domain.checkpoint import (
    Checkpoint,
    CheckpointError,
    SignerKey,
    generate_key,
    key_hash,
    open_note,
    parse_and_verify_checkpoint,
    parse_checkpoint_body,
    parse_signer_key,
    parse_verifier_key,
    sign_checkpoint,
    sign_note,
)
from stc_credit.domain.merkle import MerkleTree

# golang.org/x/mod/sumdb/note package documentation example (Ed25519 is deterministic, so
# the same key and text must give the same signature line byte for byte).
GO_SIGNER = "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz"
GO_VERIFIER = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
GO_TEXT = (
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
)
GO_NOTE = GO_TEXT + (
    "\n— PeterNeumann "
    "x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n"
)
ORIGIN = "stc.test/credit-log"


def test_go_note_vector_signs_and_verifies_byte_for_byte():
    signer = parse_signer_key(GO_SIGNER)
    assert signer.verifier().encode() == GO_VERIFIER
    assert sign_note(GO_TEXT, signer) == GO_NOTE
    assert open_note(GO_NOTE, GO_VERIFIER) == GO_TEXT


def test_verifier_key_with_plus_in_base64():
    key = parse_verifier_key("TEST+7997405c+AQcC+FTVKf0jlTdHDY3rbevmnKxxPjigCXlVtGe6RIr6")
    assert key.name == "TEST" and key.key_hash.hex() == "7997405c" and len(key.public_key) == 32


def test_key_hash_definition(signer):
    import hashlib

    expected = hashlib.sha256(signer.name.encode() + b"\n\x01" + signer.public_key).digest()[:4]
    assert key_hash(signer.name, signer.public_key) == expected == signer.key_hash
    verifier = signer.verifier().encode()
    name, hash_hex, blob = verifier.split("+", 2)
    assert name == ORIGIN and hash_hex == expected.hex()
    assert base64.b64decode(blob) == b"\x01" + signer.public_key


def test_checkpoint_format_and_round_trip(signer):
    root = MerkleTree.from_leaves([b"a", b"b", b"c"]).root()
    note = sign_checkpoint(Checkpoint(ORIGIN, 3, root), signer)
    body, sigs = note.split("\n\n")
    assert body + "\n" == f"{ORIGIN}\n3\n{base64.b64encode(root).decode()}\n"
    assert sigs.startswith(f"— {ORIGIN} ") and sigs.endswith("\n") and sigs.count("\n") == 1
    raw = base64.b64decode(sigs.removeprefix(f"— {ORIGIN} ").rstrip("\n"))
    assert len(raw) == 68 and raw[:4] == signer.key_hash
    cp = parse_and_verify_checkpoint(note, signer.verifier())
    assert cp == Checkpoint(ORIGIN, 3, root)


def test_generated_keys_work_and_differ():
    s1, v1 = generate_key(ORIGIN)
    s2, v2 = generate_key(ORIGIN)
    assert v1 != v2 and s1.startswith("PRIVATE+KEY+" + ORIGIN + "+")
    note = sign_checkpoint(Checkpoint(ORIGIN, 0, MerkleTree().root()), s1)
    assert parse_and_verify_checkpoint(note, v1).size == 0
    with pytest.raises(CheckpointError) as err:
        parse_and_verify_checkpoint(note, v2)
    assert err.value.reason == "no_signature_by_key"


def test_wrong_key_same_name_rejected(signer):
    forger = SignerKey(signer.name, bytes(32))
    forged = sign_checkpoint(Checkpoint(ORIGIN, 9, bytes(32)), forger)
    with pytest.raises(CheckpointError) as err:
        parse_and_verify_checkpoint(forged, signer.verifier())
    assert err.value.reason == "no_signature_by_key"


def test_forged_signature_under_the_right_key_hash_rejected(signer):
    note = sign_checkpoint(Checkpoint(ORIGIN, 9, bytes(32)), signer)
    body, _ = note.split("\n\n")
    fake = base64.b64encode(signer.key_hash + bytes(64)).decode()
    with pytest.raises(CheckpointError) as err:
        parse_and_verify_checkpoint(f"{body}\n\n— {signer.name} {fake}\n", signer.verifier())
    assert err.value.reason == "bad_signature"


def test_altered_body_rejected(signer):
    note = sign_checkpoint(Checkpoint(ORIGIN, 9, bytes(32)), signer)
    for altered in (note.replace("\n9\n", "\n10\n"), note.replace(ORIGIN, ORIGIN + "x", 1)):
        with pytest.raises(CheckpointError) as err:
            parse_and_verify_checkpoint(altered, signer.verifier())
        assert err.value.reason == "bad_signature"


def test_other_signatures_are_ignored(signer):
    note = sign_checkpoint(Checkpoint(ORIGIN, 4, bytes(32)), signer)
    other = SignerKey("witness.example", bytes(range(1, 33)))
    extra = sign_note(note.split("\n\n")[0] + "\n", other).split("\n\n")[1]
    cosigned = note + extra
    assert parse_and_verify_checkpoint(cosigned, signer.verifier()).size == 4
    assert parse_and_verify_checkpoint(cosigned, other.verifier()).size == 4


@pytest.mark.parametrize(
    "mangle",
    [
        lambda n: n.replace("\n\n", "\n"),  # no blank line
        lambda n: n.rstrip("\n"),  # no final newline
        lambda n: n.replace("— ", "- "),  # hyphen, not EM DASH
        lambda n: n.replace("— ", "—"),
        lambda n: n + "garbage\n",
        lambda n: n[: n.index("\n\n") + 2],  # no signature lines
        lambda n: n.replace("=\n", "!\n"),  # bad base64
    ],
)
def test_malformed_notes_rejected(signer, mangle):
    note = sign_checkpoint(Checkpoint(ORIGIN, 4, bytes(32)), signer)
    with pytest.raises(CheckpointError) as err:
        parse_and_verify_checkpoint(mangle(note), signer.verifier())
    assert err.value.reason == "malformed_note"


@pytest.mark.parametrize(
    "body",
    [
        "origin\n4\n",  # no root line
        "\n4\n" + base64.b64encode(bytes(32)).decode() + "\n",  # empty origin
        "origin\n04\n" + base64.b64encode(bytes(32)).decode() + "\n",  # leading zero
        "origin\n-4\n" + base64.b64encode(bytes(32)).decode() + "\n",
        "origin\n4\n" + base64.b64encode(bytes(31)).decode() + "\n",  # short root
        "origin\n4\n" + base64.b64encode(bytes(32)).decode(),  # no final newline
    ],
)
def test_malformed_checkpoint_bodies_rejected(body):
    with pytest.raises(CheckpointError) as err:
        parse_checkpoint_body(body)
    assert err.value.reason == "malformed_checkpoint"


def test_signed_but_malformed_checkpoint_rejected(signer):
    note = sign_note("origin\n04\n" + base64.b64encode(bytes(32)).decode() + "\n", signer)
    with pytest.raises(CheckpointError) as err:
        parse_and_verify_checkpoint(note, signer.verifier())
    assert err.value.reason == "malformed_checkpoint"


def test_extension_lines_kept():
    body = "o\n1\n" + base64.b64encode(bytes(32)).decode() + "\next one\n"
    assert parse_checkpoint_body(body).extensions == ("ext one",)
    assert parse_checkpoint_body(body).body() == body


@pytest.mark.parametrize(
    "key",
    [
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong hash
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+AhpC2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",  # wrong type
    ],
)
def test_malformed_verifier_keys_rejected(key):
    with pytest.raises(CheckpointError) as err:
        parse_verifier_key(key)
    assert err.value.reason == "malformed_key"


def test_signer_key_repr_hides_the_seed(signer):
    assert signer.seed.hex() not in repr(signer) and "PRIVATE" not in repr(signer)
