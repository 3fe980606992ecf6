"""Pictures (matplotlib, an optional extra: pip install "nmfkit[plot]"), imported when one
is drawn.

plot_history and plot_parts draw one Axes and return it; plot_consensus, plot_factors and
plot_rank_survey draw several panels into a figure and return a Picture that holds the
figure, its Axes and what was drawn. Each takes the Axes (ax=) or the figure (fig=, a Figure
or SubFigure) to draw into; without one it makes its own figure, written to `path` when one
is given (PNG by default, or any format matplotlib knows from the extension).
"""

from .common import Picture
from .consensus import ConsensusMap, plot_consensus
from .factors import FactorMaps, plot_factors
from .history import plot_history, plot_parts
from .survey import SurveyPlot, plot_rank_survey

__all__ = ["plot_history", "plot_parts", "plot_consensus", "plot_factors", "plot_rank_survey",
           "Picture", "ConsensusMap", "FactorMaps", "SurveyPlot"]
