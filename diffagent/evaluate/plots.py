"""PNG plots: the unified metric per system per data set, and hallucination per selector.

matplotlib with the Agg backend (no display on workers), one figure per file, a panel per
architecture.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from diffagent.evaluate import tables  # noqa: E402
from diffagent.evaluate.report import ARCHITECTURE_TITLES  # noqa: E402
from diffagent.evaluate.systems import SYSTEMS  # noqa: E402
from diffagent.storage import at  # noqa: E402
from schemas.evaluation import DATASET_TITLES  # noqa: E402


def _grouped_bars(ax, groups: list[str], series: dict[str, list[float]], ylabel: str) -> None:
    """Bars for each series side by side within each group."""
    x = np.arange(len(groups))
    width = 0.8 / max(len(series), 1)
    for i, (label, values) in enumerate(series.items()):
        ax.bar(x + (i - (len(series) - 1) / 2) * width, values, width, label=label)
    ax.set_xticks(x, groups)
    ax.set_ylabel(ylabel)
    ax.grid(axis="y", alpha=0.3)


def _panels(
    frame: pd.DataFrame,
    series_of: Callable[[pd.DataFrame, list[str]], dict[str, list[float]]],
    ylabel: str,
    path: str | Path,
    ylim: tuple[float, float] | None = None,
) -> str:
    """One grouped-bar panel per architecture (data sets on the x axis), saved as a PNG at
    `path` (a local path or an fsspec URL)."""
    archs = tables.architectures(frame)
    fig, axes = plt.subplots(1, len(archs), figsize=(7 * len(archs), 4.5), squeeze=False)
    for ax, architecture in zip(axes[0], archs, strict=True):
        part = frame[frame["architecture"] == architecture]
        names = tables.datasets(part)
        _grouped_bars(ax, [DATASET_TITLES.get(d, d) for d in names], series_of(part, names), ylabel)
        if ylim:
            ax.set_ylim(*ylim)
        ax.set_title(ARCHITECTURE_TITLES.get(architecture, architecture))
    axes[0][-1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=120)
    plt.close(fig)
    store, name = at(path)
    store.write_bytes(name, buffer.getvalue())
    return str(path)


def plot_unified(summary: pd.DataFrame, path: str | Path) -> str:
    """Unified metric (x100) per system, grouped by data set; one panel per architecture."""

    def series(part: pd.DataFrame, names: list[str]) -> dict[str, list[float]]:
        out = {}
        for system in tables.systems(part):
            rows = part[part["system"] == system].set_index("dataset")["unified"]
            out[SYSTEMS[system].title] = [float(rows.get(d, np.nan)) for d in names]
        return out

    return _panels(summary, series, "Unified metric (x100)", path)


def plot_hallucination(hallucination: pd.DataFrame, path: str | Path) -> str:
    """Hallucination error (%) per selector, grouped by data set; one panel per architecture."""

    def series(part: pd.DataFrame, names: list[str]) -> dict[str, list[float]]:
        out = {}
        for label in dict.fromkeys(part["label"]):
            rows = part[part["label"] == label].set_index("dataset")["error"]
            out[label] = [100.0 * float(rows.get(d, np.nan)) for d in names]
        return out

    return _panels(hallucination, series, "Hallucination error (%)", path, ylim=(0, 100))
