"""RFC 6962 Merkle tree: test vectors, proofs for every index of sizes 1..40, wrong proofs.

Vectors: the RFC 6962 leaves and roots used by certificate-transparency-go and trillian
(merkle/testonly). Every proof is also checked against a brute-force transcription of the
RFC 6962 §2.1 definitions written separately below (`ref_*`).
"""

from __future__ import annotations

import hashlib

import pytest
from stc_credit.domain.merkle import (
    EMPTY_ROOT,
    LeafHashSource,
    MerkleTree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)

LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    bytes(range(0x60, 0x70)),
]
ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]
H = bytes.fromhex
# (leaf index, tree size, audit path) from the trillian / CT test data
INCLUSION_VECTORS = [
    (0, 1, []),
    (0, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (5, 8, ["bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 3, ["fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125"]),
    (1, 5, ["6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip
# (old size, new size, consistency proof)
CONSISTENCY_VECTORS = [
    (1, 1, []),
    (1, 8, ["96a296d224f285c67bee93c30f8a309157f0daa35dc5b87e410b78630a09cfc7",
            "5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "6b47aaf29ee3c2af9af889bc1fb9254dabd31177f16232dd6aab035ca39bf6e4"]),
    (6, 8, ["0ebc5d3437fbe2db158b9f126a1d118e308181031d0a949f8dededebc558ef6a",
            "ca854ea128ed050b41b35ffc1b87b8eb2bde461e9e3b5596ece6b9d5975a0ae0",
            "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7"]),
    (2, 5, ["5f083f0a1a33ca076a95279832580db3e0ef4584bdff1f54c8a360f50de3031e",
            "bc1a0643b12e4d2d7c77918f44e0f4f79a838b6cf9ec5b5c283e1f4d88599e6b"]),
]  # fmt: skip


# --- brute-force reference: RFC 6962 §2.1 definitions, recursive over raw leaves ---------


def ref_mth(leaves: list[bytes]) -> bytes:
    n = len(leaves)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + leaves[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + ref_mth(leaves[:k]) + ref_mth(leaves[k:])).digest()


def ref_path(m: int, leaves: list[bytes]) -> list[bytes]:
    n = len(leaves)
    if n == 1:
        return []
    k = 1
    while k * 2 < n:
        k *= 2
    if m < k:
        return ref_path(m, leaves[:k]) + [ref_mth(leaves[k:])]
    return ref_path(m - k, leaves[k:]) + [ref_mth(leaves[:k])]


def ref_subproof(m: int, leaves: list[bytes], b: bool) -> list[bytes]:
    n = len(leaves)
    if m == n:
        return [] if b else [ref_mth(leaves)]
    k = 1
    while k * 2 < n:
        k *= 2
    if m <= k:
        return ref_subproof(m, leaves[:k], b) + [ref_mth(leaves[k:])]
    return ref_subproof(m - k, leaves[k:], False) + [ref_mth(leaves[:k])]


def sample_leaves(n: int) -> list[bytes]:
    return [LEAVES[i] if i < len(LEAVES) else f"leaf-{i}".encode() for i in range(n)]


# --- vectors -----------------------------------------------------------------------------


def test_empty_tree_head():
    assert root_hash([], 0) == EMPTY_ROOT
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert MerkleTree().root() == EMPTY_ROOT


@pytest.mark.parametrize("size", range(1, 9))
def test_rfc6962_roots(size):
    tree = MerkleTree.from_leaves(LEAVES)
    assert tree.root(size).hex() == ROOTS[size - 1]
    assert ref_mth(LEAVES[:size]).hex() == ROOTS[size - 1]


@pytest.mark.parametrize(("index", "size", "path"), INCLUSION_VECTORS)
def test_inclusion_vectors(index, size, path):
    tree = MerkleTree.from_leaves(LEAVES)
    assert [p.hex() for p in tree.inclusion_proof(index, size)] == path
    assert verify_inclusion(
        leaf_hash(LEAVES[index]), index, size, [H(p) for p in path], H(ROOTS[size - 1])
    )


@pytest.mark.parametrize(("old", "new", "proof"), CONSISTENCY_VECTORS)
def test_consistency_vectors(old, new, proof):
    tree = MerkleTree.from_leaves(LEAVES)
    assert [p.hex() for p in tree.consistency_proof(old, new)] == proof
    assert verify_consistency(old, new, H(ROOTS[old - 1]), H(ROOTS[new - 1]), [H(p) for p in proof])


def test_consistency_vector_with_wrong_root_fails():
    proof = [H(p) for p in CONSISTENCY_VECTORS[2][2]]
    assert not verify_consistency(6, 8, H(ROOTS[4]), H(ROOTS[7]), proof)  # root of 5, not 6


# --- every index of trees of sizes 1..40 -------------------------------------------------

ALL = sample_leaves(40)
TREE = MerkleTree.from_leaves(ALL)


@pytest.mark.parametrize("size", range(1, 41))
def test_every_inclusion_proof_matches_reference_and_verifies(size):
    root = TREE.root(size)
    assert root == ref_mth(ALL[:size])
    for index in range(size):
        proof = TREE.inclusion_proof(index, size)
        assert proof == ref_path(index, ALL[:size])
        assert verify_inclusion(TREE.leaf_hash(index), index, size, proof, root)


@pytest.mark.parametrize("size", range(1, 41))
def test_wrong_inclusion_proofs_fail(size):
    root = TREE.root(size)
    for index in range(size):
        proof = TREE.inclusion_proof(index, size)
        leaf = TREE.leaf_hash(index)
        other = TREE.leaf_hash((index + 1) % size) if size > 1 else leaf_hash(b"other")
        assert not verify_inclusion(other, index, size, proof, root)
        assert not verify_inclusion(leaf, index, size, proof + [root], root)
        assert not verify_inclusion(leaf, size, size, proof, root)  # index out of range
        if proof:
            flipped = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
            assert not verify_inclusion(leaf, index, size, flipped, root)
            assert not verify_inclusion(leaf, index, size, proof[:-1], root)


@pytest.mark.parametrize("new", range(1, 41))
def test_every_consistency_proof_matches_reference_and_verifies(new):
    for old in range(1, new + 1):
        proof = TREE.consistency_proof(old, new)
        assert proof == (ref_subproof(old, ALL[:new], True) if old < new else [])
        assert verify_consistency(old, new, TREE.root(old), TREE.root(new), proof)
        if old < new:
            assert not verify_consistency(old, new, TREE.root(old), TREE.root(new), proof[:-1])
            bad = proof[:-1] + [bytes([proof[-1][0] ^ 1]) + proof[-1][1:]]
            assert not verify_consistency(old, new, TREE.root(old), TREE.root(new), bad)
            assert not verify_consistency(
                old, new, TREE.root(old - 1) if old > 1 else leaf_hash(b"x"), TREE.root(new), proof
            )
            assert not verify_consistency(new, old, TREE.root(new), TREE.root(old), proof)


def test_consistency_edge_cases():
    assert verify_consistency(0, 5, EMPTY_ROOT, TREE.root(5), [])
    assert not verify_consistency(3, 3, TREE.root(3), TREE.root(3), [TREE.root(3)])
    assert not verify_consistency(3, 3, TREE.root(3), TREE.root(4), [])
    assert not verify_consistency(3, 5, TREE.root(3), TREE.root(5), [])


# --- sources and scale -------------------------------------------------------------------


def test_list_and_callable_sources_agree_with_the_tree():
    hashes = [leaf_hash(x) for x in ALL[:23]]
    for source in (hashes, hashes.__getitem__, LeafHashSource(hashes)):
        assert root_hash(source, 23) == TREE.root(23)
        assert inclusion_proof(source, 17, 23) == TREE.inclusion_proof(17, 23)
        assert consistency_proof(source, 9, 23) == TREE.consistency_proof(9, 23)


def test_appending_matches_building_at_every_size():
    tree = MerkleTree()
    for i, leaf in enumerate(ALL):
        assert tree.append(leaf) == i
        assert tree.root() == TREE.root(i + 1)


class CountingSource:
    def __init__(self, tree: MerkleTree) -> None:
        self.tree, self.reads = tree, 0

    def subtree(self, level: int, index: int) -> bytes:
        self.reads += 1
        return self.tree.subtree(level, index)


def test_proofs_in_a_100k_log_read_logarithmically_many_nodes():
    n = 100_003
    tree = MerkleTree(hashlib.sha256(i.to_bytes(4, "big")).digest() for i in range(n))
    counter = CountingSource(tree)
    proof = inclusion_proof(counter, 77_777, n)
    assert verify_inclusion(tree.leaf_hash(77_777), 77_777, n, proof, tree.root())
    assert counter.reads <= 17 * 17  # log2(n)^2 bound; a linear walk would read ~10^5
    counter.reads = 0
    cproof = consistency_proof(counter, 65_537, n)
    assert verify_consistency(65_537, n, tree.root(65_537), tree.root(), cproof)
    assert counter.reads <= 17 * 17


def test_bad_arguments_rejected():
    with pytest.raises(ValueError):
        TREE.inclusion_proof(5, 5)
    with pytest.raises(ValueError):
        TREE.consistency_proof(6, 5)
    with pytest.raises(ValueError):
        TREE.root(41)
    with pytest.raises(ValueError):
        MerkleTree().append_hash(b"short")
