"""One TabPane per tab. Each owns its layout, CSS and keys, and one `show(history)` that redraws."""

from .calibration import CalibrationPane
from .digits import DigitsPane
from .draw import DrawPane
from .matrix import MatrixPane
from .mistakes import MistakesPane
from .network import NetworkPane
from .runs import RunsPane
from .sweep import SweepPane
from .train import TrainPane
from .weights import WeightsPane

PANES = (TrainPane, MatrixPane, DigitsPane, MistakesPane, NetworkPane, WeightsPane, DrawPane,
         RunsPane, SweepPane, CalibrationPane)
TABS = tuple(p.TAB_ID for p in PANES)

__all__ = ["PANES", "TABS", "CalibrationPane", "DigitsPane", "DrawPane", "MatrixPane",
           "MistakesPane", "NetworkPane", "RunsPane", "SweepPane", "TrainPane", "WeightsPane"]
