"""RFC 6962 Merkle tree over the publication log: tree heads, proofs and their verification.

Hashing (RFC 6962 §2.1): leaf hash = SHA-256(0x00 || leaf), node hash =
SHA-256(0x01 || left || right), the empty tree's head is SHA-256("").
Proof generation follows RFC 6962 §2.1.1 (audit path) and §2.1.2 (consistency proof);
verification follows RFC 9162 §2.1.3.2 and §2.1.4.2.

Efficiency: every algorithm reads hashes of *complete* subtrees through a `NodeSource`
(`subtree(level, index)` = head of leaves [index·2^level, (index+1)·2^level)). Any
subtree that RFC 6962 needs is a fold of at most log2(n) complete subtrees, so a proof costs
O(log² n) node reads and no leaf rehashing when the source stores its complete subtrees:
`MerkleTree` does in memory (appends are amortised O(1)), and the storage step can keep the
same (level, index) -> hash table in PostgreSQL. `LeafHashSource` works over a plain list
or a callable `leaf_hash(i)` and computes (and memoises) complete subtrees on demand.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, runtime_checkable

HASH_SIZE = 32
LEAF_PREFIX = b"\x00"
NODE_PREFIX = b"\x01"
EMPTY_ROOT = hashlib.sha256(b"").digest()


def leaf_hash(leaf: bytes) -> bytes:
    """SHA-256(0x00 || leaf)."""
    return hashlib.sha256(LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """SHA-256(0x01 || left || right)."""
    return hashlib.sha256(NODE_PREFIX + left + right).digest()


def _largest_power_of_two_below(n: int) -> int:
    """The largest power of two strictly less than n (n > 1), RFC 6962's split point k."""
    return 1 << ((n - 1).bit_length() - 1)


@runtime_checkable
class NodeSource(Protocol):
    """Hashes of complete subtrees of a log."""

    def subtree(self, level: int, index: int) -> bytes:
        """Head of the complete subtree over leaves [index << level, (index + 1) << level)."""
        ...


class LeafHashSource:
    """A `NodeSource` over leaf hashes given as a list or a callable `leaf_hash(i)`.

    Complete subtrees are computed on first use and memoised, so the first proof over a
    fresh source reads O(n) leaf hashes and later ones reuse the cache.
    """

    def __init__(self, leaf_hashes: Sequence[bytes] | Callable[[int], bytes]) -> None:
        self._get: Callable[[int], bytes] = (
            leaf_hashes if callable(leaf_hashes) else leaf_hashes.__getitem__
        )
        self._memo: dict[tuple[int, int], bytes] = {}

    def subtree(self, level: int, index: int) -> bytes:
        """Head of the complete subtree (level, index), computed and memoised."""
        if level == 0:
            return self._get(index)
        key = (level, index)
        cached = self._memo.get(key)
        if cached is None:
            cached = node_hash(
                self.subtree(level - 1, 2 * index), self.subtree(level - 1, 2 * index + 1)
            )
            self._memo[key] = cached
        return cached


class MerkleTree:
    """An append-only in-memory tree keeping the head of every complete subtree.

    `levels[k][i]` is the head of leaves [i·2^k, (i+1)·2^k). Memory ~2n hashes
    (64 bytes per leaf: about 6.4 MB for 100k leaves).
    """

    def __init__(self, leaf_hashes: Iterable[bytes] = ()) -> None:
        self.levels: list[list[bytes]] = [[]]
        # Heads of incomplete (right-edge) subtrees, valid until the next append.
        self.range_cache: dict[tuple[int, int], bytes] = {}
        for h in leaf_hashes:
            self.append_hash(h)

    @classmethod
    def from_leaves(cls, leaves: Iterable[bytes]) -> MerkleTree:
        """A tree over raw leaves (each hashed with `leaf_hash`)."""
        return cls(leaf_hash(leaf) for leaf in leaves)

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self.levels[0])

    def __len__(self) -> int:
        return self.size

    def append(self, leaf: bytes) -> int:
        """Append a raw leaf; returns its index."""
        return self.append_hash(leaf_hash(leaf))

    def append_hash(self, h: bytes) -> int:
        """Append a leaf hash; returns its index. Amortised O(1)."""
        if len(h) != HASH_SIZE:
            raise ValueError("leaf hash must be 32 bytes")
        index = self.size
        self.range_cache.clear()
        self.levels[0].append(h)
        level = 0
        # Each time a level gets an even count, a new complete subtree one level up closes.
        while len(self.levels[level]) % 2 == 0:
            row = self.levels[level]
            if len(self.levels) == level + 1:
                self.levels.append([])
            self.levels[level + 1].append(node_hash(row[-2], row[-1]))
            level += 1
        return index

    def leaf_hash(self, index: int) -> bytes:
        """Stored hash of leaf `index`."""
        return self.levels[0][index]

    def subtree(self, level: int, index: int) -> bytes:
        """Head of the complete subtree (level, index)."""
        return self.levels[level][index]

    def root(self, size: int | None = None) -> bytes:
        """Tree head over the first `size` leaves (default: all)."""
        return root_hash(self, self.size if size is None else self._check_size(size))

    def inclusion_proof(self, index: int, size: int | None = None) -> list[bytes]:
        """Audit path of leaf `index` in the tree of the first `size` leaves."""
        return inclusion_proof(self, index, self.size if size is None else self._check_size(size))

    def consistency_proof(self, old_size: int, size: int | None = None) -> list[bytes]:
        """Consistency proof from the tree of `old_size` leaves to that of `size` leaves."""
        new_size = self.size if size is None else self._check_size(size)
        return consistency_proof(self, old_size, new_size)

    def _check_size(self, size: int) -> int:
        if not 0 <= size <= self.size:
            raise ValueError(f"tree size {size} outside 0..{self.size}")
        return size


def _source(nodes: NodeSource | Sequence[bytes] | Callable[[int], bytes]) -> NodeSource:
    if isinstance(nodes, NodeSource):
        return nodes
    return LeafHashSource(nodes)


def range_hash(nodes: NodeSource, start: int, end: int) -> bytes:
    """MTH of leaves [start, end) for an RFC 6962 subtree (start aligned to its split)."""
    if end <= start:
        raise ValueError("empty range")
    width = end - start
    if width & (width - 1) == 0 and start % width == 0:  # one complete subtree
        return nodes.subtree(width.bit_length() - 1, start // width)
    cache: dict[tuple[int, int], bytes] | None = getattr(nodes, "range_cache", None)
    if cache is not None and (start, end) in cache:
        return cache[(start, end)]
    parts: list[bytes] = []
    position, remaining = start, end - start
    while remaining:
        level = remaining.bit_length() - 1
        width = 1 << level
        if position % width:
            raise ValueError(f"range [{start}, {end}) is not an RFC 6962 subtree")
        parts.append(nodes.subtree(level, position >> level))
        position += width
        remaining -= width
    # MTH splits off the largest power of two below n first, so the head is a right fold.
    head = parts[-1]
    for part in reversed(parts[:-1]):
        head = node_hash(part, head)
    if cache is not None:
        cache[(start, end)] = head
    return head


def root_hash(nodes: NodeSource | Sequence[bytes] | Callable[[int], bytes], size: int) -> bytes:
    """Tree head MTH(D[0:size]) (SHA-256 of the empty string for size 0)."""
    if size == 0:
        return EMPTY_ROOT
    return range_hash(_source(nodes), 0, size)


def inclusion_proof(
    nodes: NodeSource | Sequence[bytes] | Callable[[int], bytes], index: int, size: int
) -> list[bytes]:
    """RFC 6962 §2.1.1 audit path PATH(index, D[0:size]), deepest sibling first."""
    if not 0 <= index < size:
        raise ValueError(f"leaf index {index} outside tree of size {size}")
    src = _source(nodes)
    path: list[bytes] = []
    start, n, m = 0, size, index
    while n > 1:
        k = _largest_power_of_two_below(n)
        if m < k:
            path.append(range_hash(src, start + k, start + n))
            n = k
        else:
            path.append(range_hash(src, start, start + k))
            start, m, n = start + k, m - k, n - k
    path.reverse()
    return path


def consistency_proof(
    nodes: NodeSource | Sequence[bytes] | Callable[[int], bytes], old_size: int, new_size: int
) -> list[bytes]:
    """RFC 6962 §2.1.2 PROOF(old_size, D[0:new_size]); empty when old_size is 0 or equal."""
    if not 0 <= old_size <= new_size:
        raise ValueError(f"cannot prove {old_size} -> {new_size}")
    if old_size == 0 or old_size == new_size:
        return []
    src = _source(nodes)
    proof: list[bytes] = []
    start, m, n, whole = 0, old_size, new_size, True
    while m != n:
        k = _largest_power_of_two_below(n)
        if m <= k:
            proof.append(range_hash(src, start + k, start + n))
            n = k
        else:
            proof.append(range_hash(src, start, start + k))
            start, m, n, whole = start + k, m - k, n - k, False
    if not whole:
        proof.append(range_hash(src, start, start + n))
    proof.reverse()
    return proof


def root_from_inclusion_proof(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes]
) -> bytes | None:
    """RFC 9162 §2.1.3.2: the root an audit path implies for leaf hash `leaf`, or None."""
    if not 0 <= index < size or len(leaf) != HASH_SIZE:
        return None
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0 or len(p) != HASH_SIZE:
            return None
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = node_hash(r, p)
        fn >>= 1
        sn >>= 1
    return r if sn == 0 else None


def verify_inclusion(
    leaf: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> bool:
    """Whether `proof` shows leaf hash `leaf` at `index` in the tree `root` of `size` leaves."""
    return root_from_inclusion_proof(leaf, index, size, proof) == root


def verify_consistency(
    old_size: int, new_size: int, old_root: bytes, new_root: bytes, proof: Sequence[bytes]
) -> bool:
    """RFC 9162 §2.1.4.2: whether `proof` shows tree (old_size, old_root) is a prefix."""
    if not 0 <= old_size <= new_size:
        return False
    if old_size == new_size:
        return not proof and old_root == new_root
    if old_size == 0:
        return not proof  # the empty tree is a prefix of every tree
    if not proof or any(len(c) != HASH_SIZE for c in proof):
        return False
    path = list(proof)
    if old_size & (old_size - 1) == 0:  # exact power of two: the old root is a subtree
        path.insert(0, old_root)
    fn, sn = old_size - 1, new_size - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root
