#!/usr/bin/env python3
"""Generates tests/data/bucket_vectors.json: (key, salt, hash, bucket) computed
by an implementation of MurmurHash3 x86_32 written from its specification,
independent of the C library the node uses (libmurmurhash). The C++ test
checks every build against these values, so all nodes and all releases
bucket a key the same way. Re-run only if the bucketing rule changes."""
import json


def murmur3_x86_32(data: bytes, seed: int = 0) -> int:
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & 0xFFFFFFFF
    rounded = len(data) & ~3
    for i in range(0, rounded, 4):
        k = int.from_bytes(data[i:i + 4], "little")
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
        h = ((h << 13) | (h >> 19)) & 0xFFFFFFFF
        h = (h * 5 + 0xE6546B64) & 0xFFFFFFFF
    k = 0
    tail = len(data) & 3
    if tail == 3:
        k ^= data[rounded + 2] << 16
    if tail >= 2:
        k ^= data[rounded + 1] << 8
    if tail >= 1:
        k ^= data[rounded]
        k = (k * c1) & 0xFFFFFFFF
        k = ((k << 15) | (k >> 17)) & 0xFFFFFFFF
        k = (k * c2) & 0xFFFFFFFF
        h ^= k
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & 0xFFFFFFFF
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & 0xFFFFFFFF
    h ^= h >> 16
    return h


def bucket(key: str, salt: str) -> tuple:
    h = murmur3_x86_32(f"{salt}:{key}".encode("utf-8"))
    return h, (h * 10000) >> 32


cases = [
    ("u-1", "price_quote"), ("u-2", "price_quote"), ("u-42", "price_quote"),
    ("alice@example.org", "checkout"), ("", "empty-key"), ("u-1", ""),
    ("session-0f3a", "onboarding"), ("12345", "price_quote"),
    ("Grüße", "unicode"), ("x" * 100, "long"),
]
for i in range(20):
    cases.append((f"user-{i * 7919}", "rollout-2026"))

vectors = []
for key, salt in cases:
    h, b = bucket(key, salt)
    vectors.append({"key": key, "salt": salt, "hash": h, "bucket": b})

# Well-known MurmurHash3 x86_32 values (seed 0), to pin the hash itself.
known = [
    {"text": "", "hash": 0},
    {"text": "The quick brown fox jumps over the lazy dog", "hash": 0x2E4FF723},
]
for k in known:
    assert murmur3_x86_32(k["text"].encode()) == k["hash"], k

with open("bucket_vectors.json", "w") as out:
    json.dump({"known_hashes": known, "vectors": vectors}, out, indent=1,
              ensure_ascii=False)
    out.write("\n")
