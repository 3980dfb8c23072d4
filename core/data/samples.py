"""Bundled offline sample datasets, materialised as CSV files in the workspace on first use.

They come from packages the project already installs, so nothing is downloaded:
- iris, wine, diabetes, digits: scikit-learn's bundled copies (BSD-3-Clause; sources in
  scikit-learn's dataset descriptions: Fisher 1936, UCI wine, Efron et al. 2004, UCI digits).
- stocks: plotly's bundled `stocks` table, weekly closing prices of six tech stocks
  2018-2019 normalised to the first week (plotly, MIT licence).
"""

from __future__ import annotations

import gzip
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from core.errors import BadInput

if TYPE_CHECKING:  # pandas is imported where a frame is read: listing samples stays light
    import pandas as pd

SAMPLE_PREFIX = "sample:"


@dataclass(frozen=True)
class SampleDataset:
    name: str
    task: str  # classification | regression | image-classification | forecasting
    target: str
    description: str
    source: str

    def to_dict(self) -> dict[str, str]:
        return asdict(self)


SAMPLES: dict[str, SampleDataset] = {
    s.name: s
    for s in (
        SampleDataset(
            "iris",
            "classification",
            "species",
            "150 iris flowers: 4 measurements (cm) -> one of 3 species.",
            "scikit-learn (Fisher, 1936), BSD-3-Clause",
        ),
        SampleDataset(
            "wine",
            "classification",
            "cultivar",
            "178 Italian wines: 13 chemical measurements -> one of 3 cultivars.",
            "scikit-learn (UCI wine recognition), BSD-3-Clause",
        ),
        SampleDataset(
            "diabetes",
            "regression",
            "progression",
            "442 diabetes patients: 10 baseline variables -> disease progression after a year.",
            "scikit-learn (Efron et al., 2004), BSD-3-Clause",
        ),
        SampleDataset(
            "digits",
            "image-classification",
            "digit",
            "1,797 handwritten digits as 8x8 grey images (64 pixel columns, 0-16) -> 0-9.",
            "scikit-learn (UCI optical digits), BSD-3-Clause",
        ),
        SampleDataset(
            "stocks",
            "forecasting",
            "GOOG",
            "105 weekly closes (2018-2019) of six tech stocks, normalised to the first week.",
            "plotly package data, MIT",
        ),
    )
}


def _frame(name: str) -> pd.DataFrame:
    import pandas as pd

    if name == "stocks":
        import plotly

        path = Path(plotly.__file__).parent / "package_data" / "datasets" / "stocks.csv.gz"
        with gzip.open(path) as f:
            return pd.read_csv(f)
    from sklearn import datasets

    if name == "iris":
        b = datasets.load_iris(as_frame=True)
        df = b.frame.rename(columns=lambda c: c.replace(" (cm)", "_cm").replace(" ", "_"))
        df["species"] = [b.target_names[i] for i in b.target]
        return df.drop(columns=["target"])
    if name == "wine":
        b = datasets.load_wine(as_frame=True)
        df = b.frame.rename(
            columns={"target": "cultivar", "od280/od315_of_diluted_wines": "od280_od315"}
        )
        df["cultivar"] = [b.target_names[i] for i in df["cultivar"]]
        return df
    if name == "diabetes":
        b = datasets.load_diabetes(as_frame=True, scaled=False)
        return b.frame.rename(columns={"target": "progression"})
    if name == "digits":
        b = datasets.load_digits(as_frame=True)
        return b.frame.rename(columns={"target": "digit"})
    raise BadInput(f"no sample named {name!r}; samples are: {', '.join(SAMPLES)}")


def sample_path(name: str, samples_dir: Path) -> Path:
    """Path of the sample's CSV in the workspace, written atomically on first use."""
    if name not in SAMPLES:
        raise BadInput(f"no sample named {name!r}; samples are: {', '.join(SAMPLES)}")
    path = samples_dir / f"{name}.csv"
    if not path.exists():
        samples_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".tmp{os.getpid()}")
        _frame(name).to_csv(tmp, index=False)
        os.replace(tmp, path)
    return path
