"""Ed25519 keys for chain heads, checkpoints and export manifests.

The private key comes from a file (``--signing-key FILE``) or the ``ANNEXA_SIGNING_KEY`` environment variable
(PEM text, or a path to a PEM file); it is never written to the store. A signature is over the canonical JSON of
a statement, prefixed by a domain tag so a head signature cannot be replayed as a checkpoint or manifest.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from annexa.errors import AnnexaError

KEY_VARIABLE = "ANNEXA_SIGNING_KEY"
PUBLIC_KEY_VARIABLE = "ANNEXA_PUBLIC_KEY"


class KeyError_(AnnexaError):
    """A key cannot be read or is not an Ed25519 key."""


def canonical(value: Any) -> str:
    """The exact text that is hashed or signed: sorted keys, no insignificant white space."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def key_id(public: Ed25519PublicKey) -> str:
    """A short, stable name of a public key: the first 16 hex digits of the SHA-256 of its raw bytes."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


@dataclass(frozen=True)
class Signer:
    """A private key and its key id."""

    private: Ed25519PrivateKey

    @property
    def key_id(self) -> str:
        """The key id of the public half."""
        return key_id(self.private.public_key())

    def sign(self, domain: str, statement: Mapping[str, Any]) -> str:
        """Base64 signature of ``domain`` + canonical JSON of ``statement``."""
        return base64.b64encode(self.private.sign(_message(domain, statement))).decode()


@dataclass(frozen=True)
class Verifier:
    """A public key and its key id."""

    public: Ed25519PublicKey

    @property
    def key_id(self) -> str:
        """The key id."""
        return key_id(self.public)

    def verify(self, domain: str, statement: Mapping[str, Any], signature: str | None) -> bool:
        """True when ``signature`` is this key's signature of the statement."""
        if not signature:
            return False
        try:
            self.public.verify(base64.b64decode(signature, validate=True), _message(domain, statement))
        except (InvalidSignature, ValueError):
            return False
        return True


def _message(domain: str, statement: Mapping[str, Any]) -> bytes:
    return f"annexa/{domain}\n".encode() + canonical(statement).encode()


def generate(private_path: Path, public_path: Path, force: bool = False) -> Verifier:
    """Write a new key pair (private key mode 0600); refuses to overwrite unless ``force``."""
    for path in (private_path, public_path):
        if path.exists() and not force:
            raise KeyError_(f"{path} already exists (use --force to overwrite)")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private_path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    public_path.parent.mkdir(parents=True, exist_ok=True)
    public_path.write_bytes(
        private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return Verifier(private.public_key())


def load_signer(path: Path | None, env: Mapping[str, str]) -> Signer | None:
    """The signing key from ``path``, else ``$ANNEXA_SIGNING_KEY`` (PEM text or a file path), else None."""
    if path is not None:
        data, where = _read(path), str(path)
    elif env.get(KEY_VARIABLE):
        value = env[KEY_VARIABLE]
        if "-----BEGIN" in value:
            data, where = value.encode(), f"${KEY_VARIABLE}"
        else:
            data, where = _read(Path(value)), f"${KEY_VARIABLE} ({value})"
    else:
        return None
    try:
        private = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise KeyError_(f"{where}: not a PEM private key without passphrase ({exc})") from None
    if not isinstance(private, Ed25519PrivateKey):
        raise KeyError_(f"{where}: not an Ed25519 key (annexa history keygen writes one)")
    return Signer(private)


def load_verifier(path: Path | None, env: Mapping[str, str]) -> Verifier | None:
    """The public key from ``path``, else ``$ANNEXA_PUBLIC_KEY`` (PEM text or a file path), else None."""
    if path is not None:
        data, where = _read(path), str(path)
    elif env.get(PUBLIC_KEY_VARIABLE):
        value = env[PUBLIC_KEY_VARIABLE]
        data, where = (value.encode(), f"${PUBLIC_KEY_VARIABLE}") if "-----BEGIN" in value else (
            _read(Path(value)), value)
    else:
        return None
    try:
        public = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise KeyError_(f"{where}: not a PEM public key ({exc})") from None
    if not isinstance(public, Ed25519PublicKey):
        raise KeyError_(f"{where}: not an Ed25519 public key")
    return Verifier(public)


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise KeyError_(f"{path}: cannot read the key: {exc.strerror or exc}") from None
