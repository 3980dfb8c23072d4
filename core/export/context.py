"""What every format step of an export job shares, built once per job: the loaded Keras model,
its contract, the saved test inputs and the Keras predictions on them, one SavedModel (written
once, read by the SavedModel, TFLite and TF.js steps) and one .tflite."""

from __future__ import annotations

import shutil
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from core.export.names import serving_name
from core.export.readme_text import inputs_table, outputs_text
from core.export.source import ExportSource
from core.models.io import load_run_model
from core.runs.reporter import Reporter
from core.specs import ExportSpec
from core.training.families.common import load_test_inputs
from core.training.features import ModelContract


def passes(
    check: dict[str, Any], expected: np.ndarray, quantized: bool = False, lossy: bool = False
) -> bool:
    """Same class on every row for classifiers, and a max |diff| within tolerance.

    `lossy`: a quantized compression variant against the float model it came from; its
    predictions differ by design, so it passes with the same class on at least 90% of the rows
    (classifiers) or a max |diff| within 10% of the output scale (regression, forecasts).
    """
    scale = max(1.0, float(np.max(np.abs(expected)))) if expected.size else 1.0
    if lossy:
        check["tolerance"] = "lossy: same class on >= 90% of rows, or max |diff| <= 10% of scale"
        if "agreement" in check:
            return check["agreement"] >= 0.9
        return check["max_abs_diff"] <= 0.1 * scale
    tolerance = (5e-2 if quantized else 1e-3) * scale
    if "agreement" in check and check["agreement"] < 1.0:
        return False
    return check["max_abs_diff"] <= tolerance


def tree_size(path: Path) -> int:
    """Bytes of a file, or of every file under a folder."""
    return sum(f.stat().st_size for f in path.rglob("*")) if path.is_dir() else path.stat().st_size


def zip_folder(folder: Path, target: Path) -> Path:
    """Zip a folder's contents (paths relative to it) into `target`."""
    tmp = target.with_suffix(".zip.tmp")
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for f in sorted(folder.rglob("*")):
            if f.is_file():
                z.write(f, f.relative_to(folder).as_posix())
    tmp.replace(target)
    return target


class ExportContext:
    """The model, its contract, test inputs and Keras predictions, and the shared conversions.

    `made` counts the expensive steps this job really ran (SavedModel exports, TFLite
    conversions), so the result record shows each was done once, whatever the formats.
    """

    def __init__(self, spec: ExportSpec, src: ExportSource, run_dir: Path, reporter: Reporter):
        from core.training.build import to_tensors as _to_tensors

        self.spec, self.src, self.run_dir, self.reporter = spec, src, run_dir, reporter
        self.source = src.folder
        self.contract = ModelContract.load(self.source / "features.json")
        arrays = load_test_inputs(self.source / "test_inputs.npz")
        self.single = self.contract.input_kind != "table"
        self.raw = arrays["input"] if self.single else arrays  # numpy, as TFLite takes them
        self.tensors = _to_tensors(self.raw)
        self.model = load_run_model(src.keras_path.parent, src.keras_path.name)
        self.expected = np.asarray(self.model.predict(self.tensors, verbose=0))
        self.name = serving_name(self.contract, spec.serving_name)
        self.version = int(spec.version or 1)
        self.lossy = src.quantized  # a quantized variant checked against its float model
        self.work = Path(tempfile.mkdtemp(prefix="export-", dir=run_dir))
        self.made = {"savedmodel_exports": 0, "tflite_conversions": 0}
        self.tflite_source = ""
        self._saved: Path | None = None
        self._tflite: tuple[Path, str] | None = None
        self._pre_model = None
        self._pre_tflite: tuple[Path, str] | None = None

    def saved_model(self) -> Path:
        """The model as a SavedModel, exported once per job."""
        from core.export.convert import to_savedmodel

        if self._saved is None:
            self._saved = to_savedmodel(self.model, self.work / "saved")
            self.made["savedmodel_exports"] += 1
        return self._saved

    def tflite(self) -> tuple[Path, str]:
        """The .tflite to ship: the compressed variant's own file, the training run's (the same
        model, converted when it was trained), or the shared SavedModel converted."""
        from core.export.convert import savedmodel_to_tflite
        from core.export.micro import tflite_ops

        if self._tflite is None:
            out = self.work / "model.tflite"
            trained = self.source / "model.tflite"
            variant_file = self.src.tflite_path  # None unless the source is a variant
            if variant_file is not None or trained.is_file():
                shutil.copy2(variant_file if variant_file is not None else trained, out)
                flex = any(op.startswith("Flex") for op in tflite_ops(out))
                self._tflite = (out, "builtin+select-tf" if flex else "builtin")
                self.tflite_source = (
                    f"the {self.src.variant['method']} variant's file"
                    if self.src.variant
                    else "the training run's model.tflite (converted once, when it was trained)"
                )
            else:
                self._tflite = savedmodel_to_tflite(self.saved_model(), out)
                self.made["tflite_conversions"] += 1
                self.tflite_source = "converted from this job's SavedModel"
        return self._tflite

    @property
    def network_only(self) -> bool:
        """The .tflite takes the preprocessed features (int8/QAT of the network alone)."""
        return self.src.scope == "network"

    def preprocessing(self):
        """The run's preprocessing.keras, loaded once (TFLite chain, micro glue)."""
        if self._pre_model is None:
            self._pre_model = load_run_model(self.source, "preprocessing.keras")
        return self._pre_model

    def preprocessing_tflite(self) -> tuple[Path, str]:
        """The float preprocessing as its own .tflite, to run before a network-only model."""
        from core.export.convert import to_tflite

        if self._pre_tflite is None:
            self._pre_tflite = to_tflite(self.preprocessing(), self.work / "preprocessing.tflite")
            self.made["tflite_conversions"] += 1
        return self._pre_tflite

    def tflite_predict(self, model: Path | bytes) -> np.ndarray:
        """Raw test inputs through the .tflite (after preprocessing.tflite when network-only)."""
        from core.compression.report import TFLiteModel

        if isinstance(model, bytes):
            path = self.work / "from_bytes.tflite"
            path.write_bytes(model)
            model = path
        inputs = self.raw
        if self.network_only:
            inputs = TFLiteModel(self.preprocessing_tflite()[0]).predict(self.raw)
        return TFLiteModel(model).predict(inputs)

    def parity(self, got, quantized: bool = False, lossy: bool = False):
        from core.export.convert import parity

        expected = self.expected
        got = np.asarray(got, "float64").reshape(expected.shape)
        check = parity(expected, got, self.contract.task)
        return check, passes(check, expected, quantized, lossy)

    def network_check(self) -> tuple[dict[str, Any], bool]:
        """`parity` for a .tflite that needs Flex: the network alone on LiteRT, fed by the
        Keras preprocessing (core.export.convert.network_parity)."""
        from core.export.convert import network_parity

        network = load_run_model(self.source, "network.keras")
        check = network_parity(
            network, self.preprocessing(), self.raw, self.expected, self.contract.task
        )
        return check, passes(check, self.expected, False, self.lossy)

    def bundle_dir(self, fmt: str) -> Path:
        folder = self.run_dir / f"{fmt}-bundle"
        if folder.exists():
            shutil.rmtree(folder)
        folder.mkdir()
        return folder

    def readme(self, title: str, body: str) -> str:
        c = self.contract
        origin = f"training run `{self.src.train_run}`"
        if self.src.variant:
            v = self.src.variant
            origin = (
                f"the `{v['method']}` variant of compression run `{self.src.compress_run}` "
                f"(of training run `{self.src.train_run}`; {v['metric_name']} "
                f"{v['metric']:.4g} on the test split with the TFLite interpreter)"
            )
        return (
            f"# {title}\n\nExported by TF Studio from {origin}: "
            f"{c.task}, predicting `{c.target}`.\n\n## Inputs\n\n{inputs_table(c)}\n"
            f"## Outputs\n\n{outputs_text(c)}\n{body}"
        )


def format_result(
    out: Path, bundle: Path, check: dict[str, Any], ok: bool, notes=(), **extra: Any
) -> dict[str, Any]:
    """What every format's export step returns to the job (which adds sizes and the zip)."""
    return {"path": out, "bundle": bundle, "parity": check, "ok": ok, "notes": list(notes), **extra}
