"""Make a test repository's key cheap to open: same password, scrypt N=1024, p=1.

restic derives the key of a repository from its password with scrypt, calibrated at
``init`` to take about half a second, and every restic command pays it again: most of a
restic test's time. This rewrites the key file with small scrypt parameters, following
restic's documented key format (doc/design.rst: AES-256-CTR, Poly1305-AES over the
ciphertext). Only test repositories get this; restic itself opens them as any other.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from pathlib import Path


def cheapen_keys(repo: Path, password: str) -> bool:
    """Rewrite every key of ``repo``; False (nothing changed) without ``cryptography``."""
    try:
        from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
        from cryptography.hazmat.primitives.poly1305 import Poly1305
    except ImportError:
        return False

    def derive(salt: bytes, n: int, r: int, p: int) -> tuple[bytes, bytes, bytes]:
        key = hashlib.scrypt(
            password.encode(), salt=salt, n=n, r=r, p=p, maxmem=2**31 - 1, dklen=64
        )
        return key[:32], key[32:48], key[48:64]  # AES key, then the MAC key as k || r

    def mac(message: bytes, nonce: bytes, k: bytes, r: bytes) -> bytes:
        aes = Cipher(algorithms.AES(k), modes.ECB()).encryptor()
        return Poly1305.generate_tag(r + aes.update(nonce) + aes.finalize(), message)

    def ctr(key: bytes, nonce: bytes, data: bytes) -> bytes:
        cipher = Cipher(algorithms.AES(key), modes.CTR(nonce)).encryptor()
        return cipher.update(data) + cipher.finalize()

    for path in (repo / "keys").iterdir():
        key = json.loads(path.read_text())
        enc, k, r = derive(base64.b64decode(key["salt"]), key["N"], key["r"], key["p"])
        blob = base64.b64decode(key["data"])
        nonce, sealed, tag = blob[:16], blob[16:-16], blob[-16:]
        if mac(sealed, nonce, k, r) != tag:
            raise ValueError(f"{path}: not a key for this password")
        master = ctr(enc, nonce, sealed)
        salt = os.urandom(64)
        key.update(N=1024, r=8, p=1, salt=base64.b64encode(salt).decode())
        enc, k, r = derive(salt, 1024, 8, 1)
        nonce = os.urandom(16)
        sealed = ctr(enc, nonce, master)
        key["data"] = base64.b64encode(nonce + sealed + mac(sealed, nonce, k, r)).decode()
        path.write_text(json.dumps(key))
    return True
