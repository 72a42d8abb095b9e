"""Plots and widgets for the course notebooks (the only part of refimpl that imports matplotlib
and ipywidgets).

Each explorer is thin: the numbers come from refimpl (or the learner's own functions, with a
visible fallback to the reference), and the explorer only draws them. Every explorer is an
:class:`Explorer`: ``update(**values)`` redraws and returns the arrays it drew, so tests can sweep
its sliders without a browser. Displaying an explorer shows the live widget in JupyterLab, and a
static PNG of its first frame where there is no widget frontend (nbval, nbconvert HTML).
"""

from refimpl.viz._core import Explorer, LearnerFunction, display_with_fallback, figure_png
from refimpl.viz.cost import gradient_cost_figure, measure_gradient_costs
from refimpl.viz.descent import DescentExplorer, derivative_error_figure
from refimpl.viz.gradients import GradientArrowsExplorer
from refimpl.viz.graph import GraphExplorer, neuron_graph
from refimpl.viz.network import NetworkExplorer, trained_params_231
from refimpl.viz.neuron import NeuronExplorer, activation_figure, glossary
from refimpl.viz.surface import LossSurfaceExplorer
from refimpl.viz.training import TrainingExplorer

__all__ = [
    "DescentExplorer",
    "Explorer",
    "GradientArrowsExplorer",
    "GraphExplorer",
    "LearnerFunction",
    "LossSurfaceExplorer",
    "NetworkExplorer",
    "NeuronExplorer",
    "TrainingExplorer",
    "activation_figure",
    "derivative_error_figure",
    "display_with_fallback",
    "figure_png",
    "glossary",
    "gradient_cost_figure",
    "measure_gradient_costs",
    "neuron_graph",
    "trained_params_231",
]
