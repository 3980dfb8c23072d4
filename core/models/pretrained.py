"""Pretrained weights from the three sources, online first and offline always (no TensorFlow).

- Keras Applications: the no-top ImageNet `.h5` file, at the address and with the hash that
  Keras' own code publishes (read from the installed keras source, not hard-coded), into
  `$KERAS_HOME/models`, where `keras.applications.X(weights="imagenet")` then finds it.
- TF Hub / Kaggle Models handles by URL: the `?tf-hub-format=compressed` tarball, unpacked into
  `$TFHUB_CACHE_DIR/<sha1(handle)>`, the folder tensorflow_hub itself uses.
- KerasHub presets by name: through kagglehub (KerasHub's downloader) into `$KAGGLEHUB_CACHE`,
  or from a site mirror of preset folders (`TFSTUDIO_KERASHUB_MIRROR`, each folder with the
  `manifest.json` that `write_manifest` makes: file sizes and SHA-256).

Every address is overridable for a mirror (and for the tests, which serve files on 127.0.0.1).
Each `ensure_*` returns a local path or raises DownloadFailed; none ever yields random weights.
"""

from __future__ import annotations

import ast
import difflib
import hashlib
import importlib.util
import json
import os
import shutil
import tarfile
import tempfile
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from core.errors import BadInput
from core.models import download as dl
from core.models.kerashub_registry import PresetInfo, cache_folder, presets

KERAS_APPS_MIRROR_ENV = "TFSTUDIO_KERAS_APPS_MIRROR"
HUB_MIRROR_ENV = "TFSTUDIO_HUB_MIRROR"
KERASHUB_MIRROR_ENV = "TFSTUDIO_KERASHUB_MIRROR"
GCS = "https://storage.googleapis.com"
HUB_HOSTS = ("https://tfhub.dev", "https://www.kaggle.com", "https://kaggle.com")

# application -> (keras.src.applications module, WEIGHTS_HASHES key or None, no-top parameters)
KERAS_APP_SOURCES = {
    "MobileNetV2": ("mobilenet_v2", None, 2_257_984),
    "MobileNetV3Small": ("mobilenet_v3", "small_224_1.0_float", 939_120),
    "MobileNetV3Large": ("mobilenet_v3", "large_224_1.0_float", 2_996_352),
    "EfficientNetB0": ("efficientnet", "b0", 4_049_571),
    "ResNet50": ("resnet", "resnet50", 23_587_712),
}
MOBILENET_V2_ROWS = (96, 128, 160, 192, 224)


def keras_home() -> Path:
    return Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")).expanduser()


@dataclass(frozen=True)
class AppWeights:
    name: str
    filename: str
    url: str
    file_hash: str  # MD5/SHA-256 as Keras publishes it; "" where Keras publishes none
    approx_bytes: int

    @property
    def cache_path(self) -> Path:
        return keras_home() / "models" / self.filename


def _keras_module_constants(module: str) -> dict:
    """BASE_WEIGHT(S)_PATH and WEIGHTS_HASHES from keras' source file, without importing it."""
    spec = importlib.util.find_spec("keras")
    if spec is None or not spec.submodule_search_locations:
        return {}
    path = Path(next(iter(spec.submodule_search_locations))) / "src" / "applications"
    tree = ast.parse((path / f"{module}.py").read_text())
    found = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            name = getattr(node.targets[0], "id", "")
            if name in ("BASE_WEIGHT_PATH", "BASE_WEIGHTS_PATH", "WEIGHTS_HASHES"):
                found[name] = ast.literal_eval(node.value)
    return found


def keras_app_weights(name: str, image_size: int) -> AppWeights:
    """The no-top ImageNet weights file Keras loads for `name` at this input size."""
    module, hash_key, params = KERAS_APP_SOURCES[name]
    consts = _keras_module_constants(module)
    base = consts.get("BASE_WEIGHT_PATH") or consts.get("BASE_WEIGHTS_PATH", "")
    if name == "MobileNetV2":  # Keras uses 224 weights for sizes outside its list
        rows = image_size if image_size in MOBILENET_V2_ROWS else 224
        filename = f"mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_{rows}_no_top.h5"
    elif module == "mobilenet_v3":
        filename = f"weights_mobilenet_v3_{hash_key}_no_top_v2.h5"
    elif module == "efficientnet":
        filename = f"efficientnet{hash_key}_notop.h5"
    else:
        filename = f"{hash_key}_weights_tf_dim_ordering_tf_kernels_notop.h5"
    hashes = consts.get("WEIGHTS_HASHES", {})
    file_hash = hashes[hash_key][1] if hash_key in hashes else ""
    url = base + filename
    mirror = os.environ.get(KERAS_APPS_MIRROR_ENV, "").rstrip("/")
    if mirror and url.startswith(GCS):
        url = mirror + url[len(GCS) :]
    return AppWeights(name, filename, url, file_hash, params * 4 + 200_000)


def reporting_progress(reporter, what: str):
    """A download progress callback that reports at most twice a second."""
    last = [0.0]

    def report(done: int, total: int | None) -> None:
        now = time.monotonic()
        if reporter is None or (now - last[0] < 0.5 and done != total):
            return
        last[0] = now
        of = f" of {dl.human_size(total)}" if total else ""
        reporter.progress("downloading", done, total or 0, f"{what}: {dl.human_size(done)}{of}")

    return report


def _announce(reporter, what: str, url: str, size: int | None, approx: int | None = None) -> None:
    if reporter is None:
        return
    stated = dl.human_size(size) if size else f"about {dl.human_size(approx)} (estimated)"
    reporter.event(f"downloading {what}: {stated} from {url}")


def ensure_keras_app(name: str, image_size: int, reporter=None, offline: bool = False) -> Path:
    """The ImageNet weights file of a Keras application in the Keras cache (downloaded if
    needed, hash-checked where Keras publishes one)."""
    weights = keras_app_weights(name, image_size)
    if weights.cache_path.is_file():
        return weights.cache_path
    what = f"ImageNet weights of {name} ({weights.filename})"
    dl.refuse_offline(what, offline)
    size = dl.remote_size(weights.url)
    dl.check_disk(size or weights.approx_bytes, weights.cache_path.parent, what)
    _announce(reporter, what, weights.url, size, weights.approx_bytes)
    return dl.fetch_file(
        weights.url,
        weights.cache_path,
        what=what,
        expected_hash=weights.file_hash,
        progress=reporting_progress(reporter, what),
        offline=offline,
    )


# ---- TF Hub / Kaggle Models -------------------------------------------------------------------


def hub_cache_dir() -> Path:
    default = Path(tempfile.gettempdir()) / "tfhub_modules"  # tensorflow_hub's own default
    return Path(os.environ.get("TFHUB_CACHE_DIR", default)).expanduser()


def hub_module_dir(handle: str) -> Path:
    return hub_cache_dir() / hashlib.sha1(handle.encode("utf8")).hexdigest()


def hub_download_url(handle: str) -> str:
    url = handle
    mirror = os.environ.get(HUB_MIRROR_ENV, "").rstrip("/")
    for host in HUB_HOSTS:
        if mirror and url.startswith(host):
            url = mirror + url[len(host) :]
    return url + ("&" if "?" in url else "?") + "tf-hub-format=compressed"


def hub_is_cached(handle: str) -> bool:
    return (hub_module_dir(handle) / "saved_model.pb").is_file()


def ensure_hub(handle: str, reporter=None, offline: bool = False, approx: int = 0) -> Path:
    """A TF Hub / Kaggle Models SavedModel folder in the TF Hub cache (downloaded and unpacked
    if needed). TF Hub publishes no hashes: the unpacked folder must hold a SavedModel."""
    module_dir = hub_module_dir(handle)
    if hub_is_cached(handle):
        return module_dir
    what = f"TF Hub model {handle}"
    dl.refuse_offline(what, offline)
    url = hub_download_url(handle)
    size = dl.remote_size(url)
    dl.check_disk((size or approx) * 3 or None, module_dir.parent, what)  # tarball + unpacked
    _announce(reporter, what, url, size, approx or None)
    tarball = module_dir.with_name(module_dir.name + ".tar.gz")
    unpack = module_dir.with_name(module_dir.name + ".unpacking")
    try:
        try:
            dl.fetch_file(
                url,
                tarball,
                what=what,
                progress=reporting_progress(reporter, what),
                offline=offline,
            )
        except dl.DownloadFailed as exc:  # an unknown handle: name the listed ones close to it
            from core.models.hub_handles import close_handles

            hint = close_handles(handle) if "(HTTP 404)" in str(exc) else ""
            raise dl.DownloadFailed(f"{exc}{hint}") from None
        shutil.rmtree(unpack, ignore_errors=True)
        try:
            with tarfile.open(tarball) as tar:
                tar.extractall(unpack, filter="data")
        except (tarfile.TarError, OSError, EOFError) as exc:
            raise dl.DownloadFailed(
                f"{what} from {url} is not a readable tarball ({exc}); nothing was kept"
            ) from None
        if not (unpack / "saved_model.pb").is_file():
            raise dl.DownloadFailed(f"{what} from {url} holds no saved_model.pb: not a SavedModel")
        shutil.rmtree(module_dir, ignore_errors=True)
        os.replace(unpack, module_dir)
        descriptor = f"Module: {handle}\nDownloaded from: {url}\n"
        Path(f"{module_dir}.descriptor.txt").write_text(descriptor)
        return module_dir
    finally:
        tarball.unlink(missing_ok=True)
        shutil.rmtree(unpack, ignore_errors=True)


# ---- KerasHub presets -------------------------------------------------------------------------


def find_preset(name: str) -> PresetInfo:
    """A built-in preset by name; an unknown name lists the close matches."""
    registry = presets()
    if name in registry:
        return registry[name]
    close = difflib.get_close_matches(name, registry, n=5, cutoff=0.5)
    hint = (
        f"close matches: {', '.join(close)}" if close else "see `tfstudio models --source kerashub`"
    )
    raise BadInput(f"unknown KerasHub preset {name!r}; {hint}")


def write_manifest(folder: Path) -> Path:
    """manifest.json for a preset folder served by a mirror: every file's size and SHA-256."""
    files = {
        str(p.relative_to(folder)): {"size": p.stat().st_size, "sha256": dl.file_hash(p, "sha256")}
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != "manifest.json"
    }
    path = folder / "manifest.json"
    path.write_text(json.dumps({"files": files}, indent=2))
    return path


def _from_mirror(info: PresetInfo, mirror: str, target: Path, reporter, offline: bool) -> None:
    base = f"{mirror}/{info.name}"
    try:
        with urllib.request.urlopen(f"{base}/manifest.json", timeout=dl.TIMEOUT_S) as resp:
            files = json.loads(resp.read())["files"]
    except Exception as exc:
        raise dl.DownloadFailed(
            f"could not read {base}/manifest.json ({getattr(exc, 'reason', exc)}): without "
            f"network access, {dl.HOW_TO_BRING}"
        ) from None
    total = sum(int(f["size"]) for f in files.values())
    what = f"KerasHub preset {info.name}"
    dl.check_disk(total, target.parent, what)
    _announce(reporter, what, base, total)
    staging = target.with_name(target.name + ".downloading")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        done = 0
        progress = reporting_progress(reporter, what)
        for rel, meta in files.items():
            if Path(rel).is_absolute() or ".." in Path(rel).parts:
                raise dl.DownloadFailed(f"the mirror's manifest names an unsafe path {rel!r}")

            def file_progress(n: int, _t: int | None, start: int = done) -> None:
                progress(start + n, total)  # this file's bytes after the files before it

            dl.fetch_file(
                f"{base}/{rel}",
                staging / rel,
                what=f"{info.name}/{rel}",
                expected_hash=meta["sha256"],
                progress=file_progress,
                offline=offline,
            )
            done += int(meta["size"])
        shutil.rmtree(target, ignore_errors=True)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def ensure_kerashub(name: str, reporter=None, offline: bool = False) -> Path:
    """A KerasHub preset by name as a local folder in kagglehub's cache."""
    info = find_preset(name)
    target = cache_folder(info)
    if (target / "config.json").is_file():
        return target
    what = f"KerasHub preset {name}"
    dl.refuse_offline(what, offline)
    mirror = os.environ.get(KERASHUB_MIRROR_ENV, "").rstrip("/")
    target.parent.mkdir(parents=True, exist_ok=True)
    if mirror:
        _from_mirror(info, mirror, target, reporter, offline)
    else:
        dl.check_disk(info.approx_bytes, target.parent, what)
        _announce(reporter, what, info.page, None, info.approx_bytes)
        try:
            import kagglehub  # KerasHub's own downloader (its progress goes to the run log)

            # Checked by kagglehub against the sizes/hashes Kaggle's API returns.
            path = Path(kagglehub.model_download(info.kaggle_handle.removeprefix("kaggle://")))
        except Exception as exc:
            raise dl.DownloadFailed(
                f"could not download {what} through kagglehub ({type(exc).__name__}: "
                f"{str(exc)[:200]}): without network access, {dl.HOW_TO_BRING}"
            ) from None
        if path != target and (path / "config.json").is_file():
            return path
    marker = target.parent / f"{target.name}.complete"
    marker.write_text("")  # kagglehub's completion marker, so it reuses the folder
    return target
