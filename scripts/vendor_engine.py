#!/usr/bin/env python3
"""Re-create vendor/stable-diffusion.cpp from the pinned PyPI sdist, byte for byte.

The engine is taken unmodified from the sdist of ``stable-diffusion-cpp-python``
(see vendor/UPSTREAM.md).  Parts the package never builds are left out, and the
tokenizer vocabulary headers (~127 MB of hex text) are stored as one
deterministic ``.tar.xz`` beside the tree; CMake restores them into the build
directory.  ``vendor/MANIFEST.sha256`` lists every vendored file, the restored
vocabulary headers included, and ``--check`` verifies a checkout against it.

Usage::

    python scripts/vendor_engine.py --sdist PATH.tar.gz   # re-create vendor/
    python scripts/vendor_engine.py --download            # fetch the sdist from PyPI first
    python scripts/vendor_engine.py --check               # verify vendor/ against the manifest
"""
from __future__ import annotations

import argparse
import hashlib
import io
import lzma
import shutil
import sys
import tarfile
import tempfile
import urllib.request
from pathlib import Path, PurePosixPath

PACKAGE = "stable-diffusion-cpp-python"
VERSION = "0.4.7"
SDIST_NAME = f"stable_diffusion_cpp_python-{VERSION}.tar.gz"
SDIST_SHA256 = "998d1957260dd5ae4e18a8acc0c14b0a8757aaa9f96515197b6d5bbf46df9282"
SDIST_URL = (
    "https://files.pythonhosted.org/packages/b1/06/"
    "300aba9ac36e2166fbe45b4a29039a76f725ef08796f5472caf3e8c4e08d/" + SDIST_NAME
)
SDIST_ENGINE_ROOT = f"stable_diffusion_cpp_python-{VERSION}/vendor/stable-diffusion.cpp/"

REPO = Path(__file__).resolve().parent.parent
VENDOR = REPO / "vendor"
ENGINE_DIR = VENDOR / "stable-diffusion.cpp"
VOCAB_ARCHIVE = VENDOR / "tokenizer-vocab.tar.xz"
MANIFEST = VENDOR / "MANIFEST.sha256"

VOCAB_DIR = "src/tokenizers/vocab/"
# Paths (relative to the engine root) that are never built by sdcpp.
PRUNED_PREFIXES = (
    ".github/",
    "docs/",
    "thirdparty/libwebp/",
    "thirdparty/libwebm/",
    "ggml/.github/",
    "ggml/ci/",
    "ggml/docs/",
    "ggml/examples/",
    "ggml/tests/",
    "ggml/scripts/",
)
PRUNED_NAMES = (".dockerignore", "Dockerfile", "Dockerfile.cuda", "Dockerfile.musa",
                "Dockerfile.sycl", "Dockerfile.vulkan")


def is_pruned(rel: str) -> bool:
    return rel.startswith(PRUNED_PREFIXES) or rel in PRUNED_NAMES


def is_compressed_vocab(rel: str) -> bool:
    return rel.startswith(VOCAB_DIR) and rel.endswith(".hpp")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def read_engine_members(sdist: Path) -> dict[str, bytes]:
    """Return {path relative to the engine root: bytes} for every regular file."""
    data = sdist.read_bytes()
    if sha256_bytes(data) != SDIST_SHA256:
        sys.exit(f"{sdist}: sha256 mismatch, expected {SDIST_SHA256}")
    files: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            if not member.name.startswith(SDIST_ENGINE_ROOT):
                continue
            if member.issym() or member.islnk():
                sys.exit(f"unexpected link in sdist: {member.name}")
            if not member.isfile():
                continue
            rel = member.name[len(SDIST_ENGINE_ROOT):]
            extracted = tar.extractfile(member)
            assert extracted is not None
            files[rel] = extracted.read()
    return files


def write_vocab_archive(vocab: dict[str, bytes]) -> None:
    """A deterministic tar.xz: sorted names, fixed owner, mode and mtime."""
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for rel in sorted(vocab):
            info = tarfile.TarInfo(PurePosixPath(rel).name)
            info.size = len(vocab[rel])
            info.mtime = 0
            info.mode = 0o644
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            tar.addfile(info, io.BytesIO(vocab[rel]))
    VOCAB_ARCHIVE.write_bytes(lzma.compress(raw.getvalue(), preset=9 | lzma.PRESET_EXTREME))


def recreate(sdist: Path) -> None:
    files = read_engine_members(sdist)
    kept = {rel: blob for rel, blob in files.items() if not is_pruned(rel)}
    vocab = {rel: blob for rel, blob in kept.items() if is_compressed_vocab(rel)}
    if ENGINE_DIR.exists():
        shutil.rmtree(ENGINE_DIR)
    for rel, blob in kept.items():
        if rel in vocab:
            continue
        target = ENGINE_DIR / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(blob)
    print(f"compressing {len(vocab)} vocabulary headers (a few minutes)...", flush=True)
    write_vocab_archive(vocab)
    lines = [f"{sha256_bytes(kept[rel])}  {rel}" for rel in sorted(kept)]
    MANIFEST.write_text("\n".join(lines) + "\n")
    pruned = len(files) - len(kept)
    print(f"vendored {len(kept)} files ({len(vocab)} compressed), pruned {pruned}")


def read_manifest() -> dict[str, str]:
    entries = {}
    for line in MANIFEST.read_text().splitlines():
        digest, rel = line.split("  ", 1)
        entries[rel] = digest
    return entries


def check() -> list[str]:
    """Compare vendor/ with the manifest; return a list of problems (empty = pristine)."""
    expected = read_manifest()
    problems = []
    with tarfile.open(VOCAB_ARCHIVE, mode="r:xz") as tar:
        vocab = {VOCAB_DIR + m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}
    on_disk = {p.relative_to(ENGINE_DIR).as_posix() for p in ENGINE_DIR.rglob("*") if p.is_file()}
    for rel, digest in expected.items():
        if rel in vocab:
            blob = vocab.pop(rel)
        elif rel in on_disk:
            blob = (ENGINE_DIR / rel).read_bytes()
            on_disk.discard(rel)
        else:
            problems.append(f"missing: {rel}")
            continue
        if sha256_bytes(blob) != digest:
            problems.append(f"modified: {rel}")
    problems += [f"not in manifest: {rel}" for rel in sorted(on_disk | set(vocab))]
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--sdist", type=Path, help="path to " + SDIST_NAME)
    group.add_argument("--download", action="store_true", help="download the sdist from PyPI")
    group.add_argument("--check", action="store_true", help="verify vendor/ against the manifest")
    args = parser.parse_args()
    if args.check:
        problems = check()
        for problem in problems:
            print(problem)
        print("vendor/ is pristine" if not problems else f"{len(problems)} problem(s)")
        return 1 if problems else 0
    if args.download:
        with tempfile.TemporaryDirectory() as tmp:
            sdist = Path(tmp) / SDIST_NAME
            urllib.request.urlretrieve(SDIST_URL, sdist)
            recreate(sdist)
    else:
        recreate(args.sdist)
    return 0


if __name__ == "__main__":
    sys.exit(main())
