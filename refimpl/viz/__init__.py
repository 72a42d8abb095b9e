"""Plots and widgets for the course notebooks (the only part of refimpl that imports matplotlib
and ipywidgets).

Each explorer is thin: the numbers come from refimpl (or the learner's own functions, with a
visible fallback to the reference), and the explorer only draws them. The numbers behind the
figures live in refimpl proper: ``refimpl.examples`` (the example networks, data and training
runs), ``refimpl.diagnostics`` (dead units, bends, divergence, gradient checks per entry),
``refimpl.gradient_costs`` (the timings of notebook 08), ``refimpl.surface``
(``parameter_entries``, ``slice_function``). ``trained_params_231`` and
``measure_gradient_costs`` are exported here too, as the notebooks call them ``viz.X``.

Modules: ``_core`` (Explorer, BlitFigure, LearnerFunction, PNG frames), ``_style`` (ranges,
palette, legends, texts that frames fill in, log-scale loss maps), ``_geometry`` (the plane's
grid, lines across it, contour lines), then one module per notebook's figures: ``neuron`` (01),
``network`` (02), ``surface`` (03), ``descent`` (04), ``graph`` (05), ``gradients`` (06),
``training`` (07), ``cost`` (08), ``classifier`` (09), and for 10 ``initialization``,
``optimizers`` and ``generalization``. Explorers share what they share through these, never
through each other.

Every explorer is an :class:`Explorer`: ``update(**values)`` redraws and returns the arrays it
drew, so tests can sweep its sliders without a browser. Displaying an explorer shows the live
widget in JupyterLab, and a static PNG of its first frame where there is no widget frontend
(nbval, nbconvert HTML).
"""

from refimpl.examples import trained_params_231
from refimpl.gradient_costs import measure_gradient_costs
from refimpl.viz._core import Explorer, LearnerFunction, display_with_fallback, figure_png
from refimpl.viz.classifier import ClassifierExplorer, compare_with_mlp_classifier, digits_figure
from refimpl.viz.cost import gradient_cost_figure
from refimpl.viz.descent import DescentExplorer, derivative_error_figure
from refimpl.viz.generalization import overfitting_figure
from refimpl.viz.gradients import GradientArrowsExplorer
from refimpl.viz.graph import GraphExplorer, neuron_graph
from refimpl.viz.initialization import InitializationExplorer
from refimpl.viz.network import NetworkExplorer
from refimpl.viz.neuron import NeuronExplorer, activation_figure, glossary
from refimpl.viz.optimizers import OptimizerExplorer
from refimpl.viz.surface import LossSurfaceExplorer
from refimpl.viz.training import TrainingExplorer

__all__ = [
    "ClassifierExplorer",
    "DescentExplorer",
    "Explorer",
    "GradientArrowsExplorer",
    "GraphExplorer",
    "InitializationExplorer",
    "LearnerFunction",
    "LossSurfaceExplorer",
    "NetworkExplorer",
    "NeuronExplorer",
    "OptimizerExplorer",
    "TrainingExplorer",
    "activation_figure",
    "compare_with_mlp_classifier",
    "derivative_error_figure",
    "digits_figure",
    "display_with_fallback",
    "figure_png",
    "glossary",
    "gradient_cost_figure",
    "measure_gradient_costs",
    "neuron_graph",
    "overfitting_figure",
    "trained_params_231",
]
