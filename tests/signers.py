"""Test senders, one per provider: ``providers/<key>/tests/sign.py`` signs a delivery with the
provider's own SDK, or the scheme its docs publish (GitHub and Shopify ship no Python verifier;
their published vectors check those signers in test_vectors).

``make_<key>(secret, delivery_id, body=None, timestamp=None, ...)`` returns ``(body_bytes,
headers)`` for one delivery; ``SIGNERS`` maps every registered provider to it, so a new
provider's folder needs no line here. Header dicts use the HTTP names; ``as_meta`` turns them
into Django test-client keyword arguments.
"""

from importlib import import_module
from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
PROVIDERS = Path(__file__).resolve().parent.parent / "providers"


def fixture(path: str) -> bytes:
    """A payload, byte-exact: ``"<key>/<file>"`` is ``providers/<key>/fixtures/<file>``
    (provenance in the SOURCES.md beside it)."""
    key, _, name = path.partition("/")
    return (PROVIDERS / key / "fixtures" / name).read_bytes()


def fixtures(key: str, pattern: str = "*.json") -> list[Path]:
    """A provider's fixture files matching ``pattern``, sorted."""
    return sorted((PROVIDERS / key / "fixtures").glob(pattern))


def as_meta(headers: dict) -> dict:
    meta = {}
    for name, value in headers.items():
        key = name.upper().replace("-", "_")
        meta[key if key in ("CONTENT_TYPE", "CONTENT_LENGTH") else f"HTTP_{key}"] = value
    return meta


def signer(key: str):
    """``providers.<key>.tests.sign``: that provider's signing module."""
    return import_module(f"providers.{key}.tests.sign")


def _keys() -> list[str]:
    return sorted(p.name for p in PROVIDERS.iterdir() if (p / "tests" / "sign.py").exists())


SIGNERS = {key: signer(key).make for key in _keys()}
GENERIC_CONFIG = signer("generic").CONFIG


def __getattr__(name: str):
    if name.startswith("make_") and name[5:] in SIGNERS:
        return SIGNERS[name[5:]]
    if name.endswith("_signature") and name[: -len("_signature")] in SIGNERS:
        return signer(name[: -len("_signature")]).signature
    raise AttributeError(name)
