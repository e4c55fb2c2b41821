#!/usr/bin/env python3
"""Independent reference for cairn's Poseidon (docs/protocol.md §2), written from the
document, not from the Rust code. Prints known-answer vectors as JSON:

    python3 runtime/protocol/tests/data/poseidon_ref.py > runtime/protocol/tests/data/poseidon_kat.json

Needs only the standard library plus a keccak-256 (pycryptodome's Crypto.Hash.keccak, or
pysha3, or the pure-Python fallback below)."""
import json

R = 21888242871839275222246405745257275088548364400416034343698204186575808495617
T, RF, RP = 3, 8, 57

# --- keccak-256 (pure Python, FIPS 202 with the original 0x01 padding) -------------------------
RC = [0x0000000000000001, 0x0000000000008082, 0x800000000000808A, 0x8000000080008000,
      0x000000000000808B, 0x0000000080000001, 0x8000000080008081, 0x8000000000008009,
      0x000000000000008A, 0x0000000000000088, 0x0000000080008009, 0x000000008000000A,
      0x000000008000808B, 0x800000000000008B, 0x8000000000008089, 0x8000000000008003,
      0x8000000000008002, 0x8000000000000080, 0x000000000000800A, 0x800000008000000A,
      0x8000000080008081, 0x8000000000008080, 0x0000000080000001, 0x8000000080008008]
ROT = [[0, 36, 3, 41, 18], [1, 44, 10, 45, 2], [62, 6, 43, 15, 61], [28, 55, 25, 21, 56], [27, 20, 39, 8, 14]]
M64 = (1 << 64) - 1

def rol(x, n):
    return ((x << n) | (x >> (64 - n))) & M64 if n else x

def keccak_f(A):
    for rc in RC:
        C = [A[x][0] ^ A[x][1] ^ A[x][2] ^ A[x][3] ^ A[x][4] for x in range(5)]
        D = [C[(x - 1) % 5] ^ rol(C[(x + 1) % 5], 1) for x in range(5)]
        A = [[A[x][y] ^ D[x] for y in range(5)] for x in range(5)]
        B = [[0] * 5 for _ in range(5)]
        for x in range(5):
            for y in range(5):
                B[y][(2 * x + 3 * y) % 5] = rol(A[x][y], ROT[x][y])
        A = [[B[x][y] ^ ((~B[(x + 1) % 5][y]) & B[(x + 2) % 5][y]) for y in range(5)] for x in range(5)]
        A[0][0] ^= rc
    return A

def keccak256(data: bytes) -> bytes:
    rate = 136
    msg = bytearray(data) + b"\x01"
    while len(msg) % rate:
        msg += b"\x00"
    msg[-1] |= 0x80
    A = [[0] * 5 for _ in range(5)]
    for off in range(0, len(msg), rate):
        block = msg[off:off + rate]
        for i in range(rate // 8):
            x, y = i % 5, i // 5
            A[x][y] ^= int.from_bytes(block[8 * i:8 * i + 8], "little")
        A = keccak_f(A)
    out = b""
    for i in range(4):
        x, y = i % 5, i // 5
        out += A[x][y].to_bytes(8, "little")
    return out

assert keccak256(b"").hex() == "c5d2460186f7233c927e7db2dcc703c0e500b653ca82273b7bfad8045d85a470"

# --- Poseidon ---------------------------------------------------------------------------------
rc = [int.from_bytes(keccak256(b"cairn/poseidon/bn254/t3/rc" + i.to_bytes(4, "big")), "big") % R
      for i in range((RF + RP) * T)]
mds = [[pow(i + j + T, R - 2, R) for j in range(T)] for i in range(T)]

def permute(s):
    half = RF // 2
    for r in range(RF + RP):
        s = [(s[i] + rc[r * T + i]) % R for i in range(T)]
        if r < half or r >= half + RP:
            s = [pow(x, 5, R) for x in s]
        else:
            s[0] = pow(s[0], 5, R)
        s = [sum(mds[i][j] * s[j] for j in range(T)) % R for i in range(T)]
    return s

def poseidon(domain, inputs):
    s = [(domain + len(inputs) * (1 << 64)) % R, 0, 0]
    if not inputs:
        s = permute(s)
    for k in range(0, len(inputs), 2):
        s[1] = (s[1] + inputs[k]) % R
        if k + 1 < len(inputs):
            s[2] = (s[2] + inputs[k + 1]) % R
        s = permute(s)
    return s[1]

cases = [(1, [1, 2]), (2, [1, 2, 3, 4]), (8, []), (8, [0]), (3, [R - 1, 5, 7]), (5, list(range(10)))]
print(json.dumps([{"domain": d, "inputs": ["0x%064x" % x for x in xs], "output": "0x%064x" % poseidon(d, xs)}
                  for d, xs in cases], indent=1))
