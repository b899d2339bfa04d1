"""Helpers for packaging/interview-guard.spec and packaging/build (build time only; not in the bundle).

* ``model_datas``: every model file in ``models/manifest.json`` (read at build time) + the manifest;
* ``prune``: drop Qt modules/plugins/translations and files no run-time import needs (logged);
* ``check_no_forbidden``: fail the build if torch, the training package, a GUI OpenCV, llvmlite or the
  real numba got in;
* ``write_component_list`` + ``write_licences`` (``python packaging/bundle_tools.py licences ...``): the
  third-party licence file, generated from the installed distributions' metadata (and, for libraries
  taken from the system, from the Debian package's copyright file).
"""

from __future__ import annotations

import fnmatch
import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DROPPED_LOG = ROOT / "build" / "dropped.txt"

# Modules the run time never imports (build-time tools, test tools, other GUI toolkits, numba's JIT).
EXCLUDES = [
    "torch", "torchvision", "torchaudio", "interview_guard.training", "onnx", "pyworld",
    "sklearn", "skimage", "sympy", "networkx", "imageio", "tifffile", "lazy_loader.tests",
    "llvmlite",
    "pytest", "_pytest", "pytestqt", "pytest_timeout", "psutil", "IPython", "jupyter", "notebook",
    "tkinter", "_tkinter", "PyQt5", "PyQt6", "PySide2", "wx", "gi",
    "pandas", "setuptools", "pkg_resources", "pip", "uv", "PyInstaller", "distutils",
    "matplotlib.backends.backend_qtagg", "matplotlib.backends.backend_qt5agg",
    "matplotlib.backends.backend_tkagg", "matplotlib.backends.backend_webagg", "matplotlib.backends.backend_gtk3agg",
    "matplotlib.backends.backend_gtk4agg", "matplotlib.backends.backend_wxagg", "matplotlib.backends.backend_macosx",
    "scipy.datasets",          # (numpy.f2py stays: scipy's array-API shim clones the numpy namespace)
]

# Qt plugins to keep, by "<category>/<file stem>" (stem without lib prefix / extension).
QT_PLUGINS_KEEP = {
    "platforms": {"qxcb", "qoffscreen", "qwindows", "qcocoa", "qminimal"},   # windows/cocoa: UNTESTED
    "imageformats": {"qjpeg"},                                             # PNG is built into QtGui
    "xcbglintegrations": {"qxcb-glx-integration", "qxcb-egl-integration"},
    "platforminputcontexts": {"composeplatforminputcontextplugin"},       # dead keys / compose on X11
    "styles": {"qmodernwindowsstyle", "qwindowsvistastyle", "qmacstyle"},  # UNTESTED (Windows/macOS look)
}

# Data files nothing reads at run time (globs over the destination path).
DROP_DATA_GLOBS = [
    "PySide6/Qt/translations/*", "PySide6/translations/*",
    "matplotlib/mpl-data/sample_data/*", "matplotlib/mpl-data/images/*.pdf", "matplotlib/mpl-data/images/*.svg",
    "*/tests/*", "*/testing/*.py",
    "PySide6/include/*", "PySide6/typesystems/*", "PySide6/glue/*", "PySide6/scripts/*", "PySide6/doc/*",
    "cv2/data/*",                     # Haar cascades: unused
    "PySide6/*.pyi", "shiboken6/*.pyi",   # (other .pyi stay: librosa's lazy_loader reads its stubs)
    "*.pxd", "*.h", "*.hpp", "*.c", "*.cpp",
]

_log: list[str] = []


def model_datas(models_dir: Path) -> list[tuple[str, str]]:
    """(src, "models") for the manifest, every file it lists, and the optional calibration/NOTICE files."""
    manifest = models_dir / "manifest.json"
    rows = json.loads(manifest.read_text())["models"]
    out = [(str(manifest), "models")]
    missing = []
    for r in rows:
        p = models_dir / r["file"]
        if not p.is_file():
            missing.append(str(p))
        out.append((str(p), str(Path("models") / Path(r["file"]).parent)))
    if missing:
        raise SystemExit(f"error: model files listed in {manifest} are missing: {', '.join(missing)}")
    for extra in ("calibration.json", "NOTICE", "README.md"):
        if (models_dir / extra).is_file():
            out.append((str(models_dir / extra), "models"))
    print(f"[spec] models from the manifest: {', '.join(r['file'] for r in rows)}")
    return out


def platform_hiddenimports() -> list[str]:
    # Windows: WASAPI loopback goes through sounddevice's bundled PortAudio DLL (its hook collects it);
    # macOS: a loopback input device (BlackHole) through the same. Nothing extra to import. (UNTESTED)
    return []


def _qt_plugin_keep(dest: str) -> bool | None:
    """None when dest is not a Qt plugin; else keep or not."""
    parts = Path(dest).parts
    if "plugins" not in parts or "PySide6" not in parts:
        return None
    i = parts.index("plugins")
    if len(parts) < i + 3:
        return None
    cat, name = parts[i + 1], parts[-1]
    stem = name.split(".")[0]
    stem = stem[3:] if stem.startswith("lib") else stem
    return stem in QT_PLUGINS_KEEP.get(cat, set())


def prune(toc, kind: str):
    kept = []
    for entry in toc:
        dest, src, typ = entry[0], entry[1], entry[2]
        d = dest.replace("\\", "/")
        reason = None
        q = _qt_plugin_keep(d)
        if q is False:
            reason = "unused Qt plugin"
        elif any(fnmatch.fnmatch(d, g) for g in DROP_DATA_GLOBS):
            reason = "data nothing reads at run time"
        elif d.startswith(("llvmlite/", "numba/", "torch/", "sklearn/", "skimage/")):
            reason = "module excluded from the run time"
        if reason:
            _log.append(f"{kind}\t{d}\t{reason}")
            continue
        kept.append(entry)
    if kind == "binaries":
        kept = _drop_unreferenced_qt_libs(kept)
    DROPPED_LOG.parent.mkdir(parents=True, exist_ok=True)
    DROPPED_LOG.write_text("\n".join(_log) + "\n")
    return kept


# Libraries loaded by name at run time (ctypes / dlopen), not through DT_NEEDED: always kept.
DLOPEN_ROOTS = ("libpython", "libportaudio", "libsndfile", "libmediapipe", "libonnxruntime", "libgcc_s")


def _drop_unreferenced_qt_libs(toc):
    """Keep a Qt library, or a shared library PyInstaller put at the top of the bundle as someone's
    dependency, only if something kept links to it (DT_NEEDED closure from the Python extension
    modules, the kept Qt plugins, package-level libraries and the DLOPEN_ROOTS). This drops e.g. GTK,
    cairo and pango that only the (dropped) GTK platform-theme plugin needed. Dangling top-level
    symlinks to dropped files go too. Linux only: elsewhere keep everything (UNTESTED platforms)."""
    if not sys.platform.startswith("linux"):
        return toc
    from PyInstaller.depend.bindepend import get_imports

    def candidate(e) -> bool:
        d = e[0].replace("\\", "/")
        base = os.path.basename(d)
        if base.startswith(DLOPEN_ROOTS):
            return False
        if d.startswith("PySide6/Qt/lib/"):
            return True
        return "/" not in d and base.startswith("lib") and ".so" in base and e[2] != "SYMLINK"

    by_name: dict[str, tuple] = {}
    for e in toc:
        if e[2] != "SYMLINK":
            by_name.setdefault(os.path.basename(e[0]), e)
    roots = [e for e in toc if not candidate(e) and e[2] != "SYMLINK"]
    needed: set[str] = set()
    stack = list(roots)
    seen: set[str] = set()
    while stack:
        e = stack.pop()
        if e[1] in seen or not e[1] or not os.path.isfile(e[1]):
            continue
        seen.add(e[1])
        try:
            imports = get_imports(e[1])
        except Exception:  # noqa: BLE001 - not an ELF file
            continue
        for item in imports:
            name = item[0] if isinstance(item, (tuple, list)) else item
            base = os.path.basename(str(name))
            if base in by_name and base not in needed:
                needed.add(base)
                stack.append(by_name[base])
    kept, dropped = [], set()
    for e in toc:
        d = e[0].replace("\\", "/")
        if candidate(e) and os.path.basename(d) not in needed:
            _log.append(f"binaries\t{d}\tlibrary nothing kept links to")
            dropped.add(d)
            continue
        kept.append(e)
    out = []
    for e in kept:
        if e[2] == "SYMLINK":
            target = os.path.normpath(os.path.join(os.path.dirname(e[0]), str(e[1]))).replace("\\", "/")
            if target in dropped:
                _log.append(f"binaries\t{e[0]}\tsymlink to a dropped library")
                continue
        out.append(e)
    return out


FORBIDDEN_MODULES = ("torch", "interview_guard.training", "llvmlite", "sklearn")


def check_no_forbidden(a) -> None:
    bad = sorted({name for name, *_ in a.pure
                  if any(name == f or name.startswith(f + ".") for f in FORBIDDEN_MODULES)})
    for name, src, *_ in a.pure:
        if name == "numba" and "packaging" not in str(src).replace("\\", "/").split("/"):
            bad.append(f"numba (the real one, from {src})")
    for dest, src, *_ in list(a.binaries) + list(a.datas):
        d = dest.replace("\\", "/")
        if d.startswith(("torch/", "llvmlite/", "cv2/qt/")) or "opencv_python.libs" in d \
                or "opencv_contrib_python" in d:
            bad.append(d)
    try:
        from importlib.metadata import distribution

        for non_headless in ("opencv-python", "opencv-contrib-python"):
            try:
                distribution(non_headless)
                bad.append(f"{non_headless} is installed in the build venv (only opencv-python-headless may be)")
            except Exception:  # noqa: BLE001
                pass
    except ImportError:
        pass
    if bad:
        raise SystemExit("error: the bundle would contain forbidden components: " + ", ".join(bad[:20]))


def write_component_list(a, path: Path) -> None:
    """Everything that goes into the bundle (module names and source files) for the licence file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {
        "modules": sorted({name.split(".")[0] for name, *_ in a.pure}),
        "module_files": sorted({str(src) for _n, src, *_ in a.pure if src}),
        "files": sorted({str(src) for _d, src, *_ in list(a.binaries) + list(a.datas) if src}),
    }
    path.write_text(json.dumps(data, indent=1))


# --- licences -----------------------------------------------------------------------------------------

LICENCE_FILE_GLOBS = ("LICENSE*", "LICENCE*", "COPYING*", "NOTICE*", "AUTHORS*", "license*", "LICENSES/*",
                      "licenses/*")


def _dist_index():
    from importlib.metadata import distributions

    by_file: dict[str, object] = {}
    dists = {}
    for d in distributions():
        name = d.metadata["Name"]
        if not name:
            continue
        dists[name.lower()] = d
        try:
            base = os.path.realpath(str(d.locate_file("")))
        except Exception:  # noqa: BLE001
            continue
        for f in d.files or []:
            by_file[os.path.normpath(os.path.join(base, str(f)))] = d
    return dists, by_file


def _licence_texts(d) -> list[tuple[str, str]]:
    out = []
    for f in d.files or []:
        s = str(f)
        base = os.path.basename(s)
        in_meta = ".dist-info/" in s or ".egg-info/" in s
        if (in_meta and any(fnmatch.fnmatch(s.split("-info/", 1)[1], g) for g in LICENCE_FILE_GLOBS)) or (
                not in_meta and base.upper().startswith(("LICENSE", "LICENCE", "COPYING")) and s.count("/") <= 2):
            try:
                txt = Path(d.locate_file(f)).read_text(errors="replace")
            except OSError:
                continue
            out.append((s, txt))
    return out


def _licence_name(d) -> str:
    m = d.metadata
    lic = m.get("License-Expression") or ""
    if not lic:
        raw = (m.get("License") or "").strip()
        first = raw.splitlines()[0].strip() if raw else ""
        # a whole licence text pasted into the field is not a name
        lic = "" if (not first or len(raw) > 200 or first.startswith(("=", "-", "Copyright", "License agreement"))) \
            else first[:120]
    classifiers = [c.split("::")[-1].strip() for c in (m.get_all("Classifier") or []) if c.startswith("License ::")]
    if classifiers and (not lic or len(lic) > 80):
        lic = "; ".join(classifiers)
    lic = lic or "see the licence text below"
    if (m.get("Name") or "").lower() == "pyinstaller":
        lic += " with the bootloader exception (only its bootloader is in this bundle; see the text below)"
    return lic


def _debian_packages(paths: list[str]) -> dict[str, str]:
    """realpath -> Debian package owning it (one dpkg -S call for all)."""
    real = {os.path.realpath(p): p for p in paths}
    if not real:
        return {}
    try:
        r = subprocess.run(["dpkg", "-S", *real], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        return {}
    out = {}
    for line in r.stdout.splitlines():
        if ": " not in line:
            continue
        pkgs, path = line.split(": ", 1)
        out[path.strip()] = pkgs.split(",")[0].split(":")[0].strip()
    return out


def write_licences(components: Path, out: Path) -> None:
    comp = json.loads(components.read_text())
    dists, by_file = _dist_index()
    used: dict[str, object] = {}
    system_libs: dict[str, list[str]] = {}
    python_files, system_paths = [], []
    for src in comp["module_files"] + comp["files"]:
        p = os.path.realpath(src)
        d = by_file.get(p)
        if d is not None:
            used[d.metadata["Name"].lower()] = d
        elif "/site-packages/" in p:
            continue
        elif p.startswith(sys.base_prefix) or "libpython" in os.path.basename(p):
            python_files.append(p)
        elif p.startswith(str(ROOT)):
            continue
        elif os.path.isabs(p) and Path(p).exists():
            system_paths.append(p)
    owners = _debian_packages(system_paths)
    for p in system_paths:
        pkg = owners.get(os.path.realpath(p), "unknown origin (not from a Debian package)")
        system_libs.setdefault(pkg, []).append(os.path.basename(p))
    used.pop("interview-guard", None)
    lines = ["THIRD-PARTY SOFTWARE IN THIS BUNDLE", "=" * 35, "",
             "interview-guard itself is Apache-2.0. This file lists every other component in this folder, generated",
             "at build time from the installed packages' metadata (Python distributions) and from Debian's",
             "copyright files (system libraries copied into the bundle). The model files' licences are in",
             "models/NOTICE and models/manifest.json.", ""]
    lines.append("Summary")
    lines.append("-------")
    lines.append(f"Python {sys.version.split()[0]} (CPython interpreter and standard library): PSF-2.0")
    for name in sorted(used):
        d = used[name]
        lines.append(f"{d.metadata['Name']} {d.version}: {_licence_name(d)}")
    for pkg in sorted(system_libs):
        lines.append(f"system library from Debian package {pkg}: {', '.join(sorted(set(system_libs[pkg])))}")
    lines.append("")
    py_lic = Path(sys.base_prefix) / "lib" / f"python{sys.version_info[0]}.{sys.version_info[1]}" / "LICENSE.txt"
    if py_lic.is_file():
        lines += ["=" * 100, f"Python {sys.version.split()[0]}", "=" * 100, py_lic.read_text(errors="replace"), ""]
    for name in sorted(used):
        d = used[name]
        lines += ["=" * 100, f"{d.metadata['Name']} {d.version} — {_licence_name(d)}",
                  f"home: {d.metadata.get('Home-page') or next((u.split(',', 1)[-1].strip() for u in (d.metadata.get_all('Project-URL') or [])), '')}",
                  "=" * 100]
        texts = _licence_texts(d)
        if not texts:
            lines.append(f"(the distribution ships no licence file; its metadata says: {_licence_name(d)})")
        for fname, txt in texts:
            lines += [f"--- {fname} ---", txt.rstrip(), ""]
        lines.append("")
    for pkg in sorted(system_libs):
        cp = Path("/usr/share/doc") / pkg.split(":")[0] / "copyright"
        lines += ["=" * 100, f"Debian package {pkg} ({', '.join(sorted(set(system_libs[pkg])))})", "=" * 100,
                  cp.read_text(errors="replace").rstrip() if cp.is_file() else "(no copyright file found)", ""]
    out.write_text("\n".join(lines) + "\n")
    print(f"[licences] {len(used)} Python distributions, {len(system_libs)} Debian packages -> {out}")


# --- stripping ---------------------------------------------------------------------------------------

def _load_segments_aligned(path: Path) -> bool:
    """True when every PT_LOAD segment has p_offset == p_vaddr (mod p_align): what ld.so checks
    ('ELF load command address/offset not page-aligned' otherwise). strip can break this on libraries
    that auditwheel rewrote with patchelf."""
    import struct

    with open(path, "rb") as f:
        ident = f.read(64)
        if ident[:4] != b"\x7fELF" or ident[4] != 2:      # ELF64 only
            return False
        end = "<" if ident[5] == 1 else ">"
        e_phoff, = struct.unpack_from(end + "Q", ident, 0x20)
        e_phentsize, e_phnum = struct.unpack_from(end + "HH", ident, 0x36)
        f.seek(e_phoff)
        ph = f.read(e_phentsize * e_phnum)
    for i in range(e_phnum):
        p_type, _flags, p_offset, p_vaddr, _pa, _fs, _ms, p_align = struct.unpack_from(end + "IIQQQQQQ", ph,
                                                                                      i * e_phentsize)
        if p_type == 1 and p_align > 1 and (p_offset - p_vaddr) % p_align:
            return False
    return True


def strip_large(stage: Path, log: Path, min_bytes: int = 2 * 1024 * 1024) -> int:
    """``strip --strip-unneeded`` on unstripped ELF shared libraries above ``min_bytes``; a result that
    would not load (misaligned segments) or saves < 256 KiB is thrown away. Returns bytes saved."""
    import shutil
    import tempfile

    saved, lines = 0, []
    for f in sorted(stage.rglob("*")):
        if f.is_symlink() or not f.is_file() or f.stat().st_size < min_bytes or ".so" not in f.name:
            continue
        desc = subprocess.run(["file", "-b", str(f)], capture_output=True, text=True).stdout
        if "ELF" not in desc or "not stripped" not in desc:
            continue
        with tempfile.TemporaryDirectory() as td:
            tmp = Path(td) / f.name
            shutil.copy2(f, tmp)
            r = subprocess.run(["strip", "--strip-unneeded", str(tmp)], capture_output=True, text=True)
            before, after = f.stat().st_size, tmp.stat().st_size
            rel = f.relative_to(stage)
            if r.returncode != 0 or not _load_segments_aligned(tmp):
                lines.append(f"kept   {rel}: strip would break it (misaligned load segments)")
                continue
            if before - after < 256 * 1024:
                lines.append(f"kept   {rel}: strip saves only {(before - after) // 1024} KiB")
                continue
            shutil.copy2(tmp, f)
            saved += before - after
            lines.append(f"strip  {rel}: {before / 2**20:.1f} -> {after / 2**20:.1f} MB")
    log.write_text("\n".join(lines) + "\n")
    return saved


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "licences":
        write_licences(Path(sys.argv[2]), Path(sys.argv[3]))
    elif len(sys.argv) == 4 and sys.argv[1] == "strip":
        n = strip_large(Path(sys.argv[2]), Path(sys.argv[3]))
        print(f"[strip] {n / 2**20:.0f} MB saved (log: {sys.argv[3]})")
    else:
        raise SystemExit("usage: bundle_tools.py licences build/components.json OUT.txt | strip STAGE LOG")
