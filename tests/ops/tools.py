"""What the ops tests share: finding a checker program, and making certificates.

Certificates come from the `openssl` command line, not a Python library: only crypto/
may import one (tests/test_architecture.py), and these are test fixtures, not keys.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.conftest import _service_missing

EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]


def program(name: str) -> str:
    """The path of a checker (nginx, tor, nft, systemd-analyze, openssl); skips the test
    when it is missing, except in CI, where that fails (make sysdeps installs them)."""
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if found is None:
        _service_missing(name)
        raise AssertionError("unreachable")  # _service_missing skips or fails
    return found


def _openssl(*args: str) -> None:
    subprocess.run([program("openssl"), *args], check=True, capture_output=True, timeout=30)


@dataclass(frozen=True)
class Issued:
    certificate: Path
    key: Path

    def pem(self) -> Path:
        """Certificate and key in one file (what casework's intake_sync_client_cert takes)."""
        both = self.certificate.with_suffix(".pem")
        both.write_bytes(self.certificate.read_bytes() + self.key.read_bytes())
        return both


def certificate_authority(folder: Path, name: str) -> Issued:
    """A fresh self-signed CA (P-256, valid two days) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    ca = Issued(folder / f"{name}.crt", folder / f"{name}.key")
    _openssl("req", "-x509", *EC, "-keyout", str(ca.key), "-out", str(ca.certificate),
             "-days", "2", "-subj", f"/CN={name}",
             "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return ca


def issue(ca: Issued, folder: Path, name: str, *, san: str | None = None,
          client: bool = False) -> Issued:
    """A leaf certificate signed by ``ca``: a server's for ``san`` (e.g. IP:127.0.0.1),
    or a client's."""
    leaf = Issued(folder / f"{name}.crt", folder / f"{name}.key")
    request = folder / f"{name}.csr"
    usage = "clientAuth" if client else "serverAuth"
    extensions = ["-addext", f"extendedKeyUsage={usage}"]
    if san:
        extensions += ["-addext", f"subjectAltName={san}"]
    _openssl("req", *EC, "-keyout", str(leaf.key), "-out", str(request),
             "-subj", f"/CN={name}", *extensions)
    _openssl("x509", "-req", "-in", str(request), "-CA", str(ca.certificate),
             "-CAkey", str(ca.key), "-CAcreateserial", "-out", str(leaf.certificate),
             "-days", "2", "-copy_extensions", "copy")
    return leaf
