"""refimpl: the NumPy reference implementation of the backpropagation course.

Pure functions on float64 arrays; numpy is the only dependency. The
autograder compares learners' functions with these, and the notebooks use them
for plots and experiments.

Glossary of symbols (the one notation of the course)
----------------------------------------------------
Rows are samples. Shapes are those of the 2-3-1 network (2 inputs: hours
studied and hours slept; 3 ReLU hidden units; 1 sigmoid output: the
probability of passing); a dense layer in general maps (n, d_in) to (n, d_out).

==============  ==========  ===================================================
symbol          shape       meaning
==============  ==========  ===================================================
n               number      number of samples (students), the rows of X
X               (n, 2)      inputs, one sample per row
y               (n, 1)      targets: 1.0 = passed, 0.0 = failed; never (n,)
W1              (2, 3)      hidden weights, (d_in, d_out): Z1 = X @ W1 + b1
b1              (3,)        hidden biases, (d_out,)
Z1              (n, 3)      hidden pre-activations
A1              (n, 3)      hidden activations, A1 = relu(Z1)
W2              (3, 1)      output weights: Z2 = A1 @ W2 + b2
b2              (1,)        output bias
Z2              (n, 1)      output pre-activations (logits)
y_hat, A2       (n, 1)      predictions, y_hat = A2 = sigmoid(Z2)
Wl, bl, Zl, Al  per layer   layer l = 1..L of an L-layer MLP; A0 = X, AL = y_hat
f, f'           like Z      an activation and its derivative; relu'(0) = 0
sigma           like Z      the sigmoid, sigma(z) = 1 / (1 + e^-z)
L               number      the loss: MSE = mean((y_hat - y)**2) (no 1/2), or
                            BCE = -mean(y log(y_hat) + (1 - y) log(1 - y_hat))
                            (in WL, bL, AL: the number of layers)
dW, db          like W, b   dL/dW and dL/db, the same shapes as W and b
                            (dA, dy_hat likewise)
dZ, delta       like Z      dL/dZ, including the 1/n of the mean loss
lr              number      the learning rate: W <- W - lr * dW
params          dict        {"W1": W1, "b1": b1, "W2": W2, "b2": b2}
grads           dict        the same keys and shapes: grads["W1"] is dW1
cache           dict        forward values kept for backward: Z1, A1, Z2, A2
G               number      grid points of a loss surface
w, b, x         numbers     one neuron with one input (notebook 05): z = w x + b,
                            a = sigma(z), L = (a - y)**2
dL_dw, dL_db    numbers     that neuron's gradient, the chain rule by hand
Value           object      a number that records how it was computed: .data,
                            .grad; out.backward() fills .grad of every input
Y               (n, k)      notebook 09's one-hot targets over k classes; its
                            logits Z are (n, k) too
labels          (n,)        integer classes 0 .. k - 1 (notebook 09)
P               (n, k)      softmax probabilities, rows summing to 1
history         dict        train's record: history["loss"] (before each step),
                            history["grad_norm"] (the norm of all gradients)
std             number      the standard deviation of a layer's starting weights,
                            W ~ N(0, std**2) (notebook 10: normal, Xavier, He)
lam             number      L2 strength: loss + (lam / 2) * sum of W**2, dW + lam W
velocity        dict        momentum's running sum of gradients, params' keys
beta            number      momentum's decay: v <- beta v + dW, W <- W - lr v
m, v            dict        Adam's running means of dW and of dW**2
beta1, beta2    numbers     their decay rates (Adam's defaults 0.9 and 0.999)
t               number      Adam's step number, 1 for the first step
==============  ==========  ===================================================

The output delta is ``dZ2 = (y_hat - y) / n`` for sigmoid + BCE only; for
sigmoid + MSE it is ``dZ2 = 2 (y_hat - y) sigma'(Z2) / n``.

Modules
-------
activations     relu, sigmoid, tanh, identity and their derivatives
autodiff        neuron_loss_grads (the chain rule by hand), Value (micrograd-style autodiff),
                value_network_231 (the 2-3-1 network from Values), zero_grad, value_grads
neuron          a single neuron
losses          mse, bce (also from logits), their gradients, target checks, accuracy
layers          dense_forward / dense_backward
network         the 2-3-1 network: init, forward, backward, loss, predict
mlp             the same for any depth
classifier      a multi-class network: the digits, softmax, cross-entropy, mini-batch SGD
optim           gd_step, gradient_descent, train, grad_norm
initialization  init_std (normal, Xavier, He) and deep_stack_statistics (notebook 10)
optimizers      momentum_step, adam_step, optimizer_path, steps_to_reach (notebook 10)
generalization  l2_regularize, early_stopping, fit_classifier (notebook 10)
gradcheck       numerical derivatives and gradients, gradient_errors, grad_check
data            study_sleep and other 2-D data sets, split, standardize
surface         the loss over a grid of two parameters (and the labels of its entries)
fast            MLPTrainer: the mlp training step in preallocated arrays (same numbers, faster)

Behind the notebooks' figures (not exported here; ``refimpl.viz`` draws them):

examples        the example networks, data and training runs the figures explore
diagnostics     where a loss bends down, dead units, divergence, gradient checks per entry
gradient_costs  the timings of central differences against backpropagation (notebook 08)
viz             plots and ipywidgets explorers: drawing only (matplotlib, ipywidgets)

``_validation`` holds the argument checks the modules share (internal).
"""

from refimpl.activations import (
    ACTIVATIONS,
    DERIVATIVES,
    get_activation,
    identity,
    identity_prime,
    relu,
    relu_prime,
    sigmoid,
    sigmoid_prime,
    tanh,
    tanh_prime,
)
from refimpl.autodiff import (
    Value,
    neuron_loss_grads,
    value_grads,
    value_network_231,
    zero_grad,
)
from refimpl.classifier import (
    DIGIT_CLASSES,
    DIGIT_MAX,
    DIGIT_SHAPE,
    classifier_forward,
    classifier_gradients,
    confusion_matrix,
    cross_entropy,
    label_accuracy,
    load_digits,
    load_digits_split,
    log_softmax,
    minibatches,
    one_hot,
    predict_labels,
    relu_backward,
    softmax,
    softmax_cross_entropy_backward,
    train_classifier,
)
from refimpl.data import (
    FEATURE_NAMES,
    LABEL_FLIP_EVERY,
    PASS_MIN_SLEEP,
    PASS_MIN_STUDY,
    STD_FLOOR,
    moons,
    spirals,
    standardize,
    study_sleep,
    train_test_split,
    xor,
)
from refimpl.fast import MLPTrainer
from refimpl.generalization import FitHistory, early_stopping, fit_classifier, l2_regularize
from refimpl.gradcheck import (
    RELATIVE_ERROR_FLOOR,
    GradientCheckError,
    grad_check,
    gradient_errors,
    numerical_derivative,
    numerical_gradient,
    numerical_gradients,
    relative_error,
)
from refimpl.initialization import (
    INIT_SCHEMES,
    StackStatistics,
    deep_stack_statistics,
    init_std,
)
from refimpl.layers import dense_backward, dense_forward
from refimpl.losses import (
    BCE_EPS,
    LOSS_GRADS,
    LOSSES,
    accuracy,
    bce,
    bce_from_logits,
    bce_from_logits_grad,
    bce_grad,
    mse,
    mse_grad,
    validate_targets,
)
from refimpl.mlp import INITS, OUTPUTS, init_mlp, mlp_backward, mlp_forward, mlp_loss
from refimpl.network import (
    SHAPES_231,
    backward_231,
    forward_231,
    init_231,
    loss_231,
    predict,
)
from refimpl.neuron import neuron
from refimpl.optim import (
    DIVERGENCE_FACTOR,
    TrainingHistory,
    gd_step,
    gradient_descent,
    train,
)
from refimpl.optimizers import (
    ADAM_DEFAULTS,
    OPTIMIZERS,
    adam_step,
    momentum_step,
    optimizer_path,
    steps_to_reach,
    zeros_like_params,
)
from refimpl.surface import loss_surface

__all__ = [
    "ACTIVATIONS",
    "ADAM_DEFAULTS",
    "BCE_EPS",
    "DERIVATIVES",
    "DIGIT_CLASSES",
    "DIGIT_MAX",
    "DIGIT_SHAPE",
    "DIVERGENCE_FACTOR",
    "FEATURE_NAMES",
    "INITS",
    "INIT_SCHEMES",
    "LABEL_FLIP_EVERY",
    "LOSSES",
    "LOSS_GRADS",
    "OPTIMIZERS",
    "OUTPUTS",
    "PASS_MIN_SLEEP",
    "PASS_MIN_STUDY",
    "RELATIVE_ERROR_FLOOR",
    "SHAPES_231",
    "STD_FLOOR",
    "FitHistory",
    "GradientCheckError",
    "MLPTrainer",
    "StackStatistics",
    "TrainingHistory",
    "Value",
    "accuracy",
    "adam_step",
    "backward_231",
    "bce",
    "bce_from_logits",
    "bce_from_logits_grad",
    "bce_grad",
    "classifier_forward",
    "classifier_gradients",
    "confusion_matrix",
    "cross_entropy",
    "deep_stack_statistics",
    "dense_backward",
    "dense_forward",
    "early_stopping",
    "fit_classifier",
    "forward_231",
    "gd_step",
    "get_activation",
    "grad_check",
    "gradient_descent",
    "gradient_errors",
    "identity",
    "identity_prime",
    "init_231",
    "init_mlp",
    "init_std",
    "l2_regularize",
    "label_accuracy",
    "load_digits",
    "load_digits_split",
    "log_softmax",
    "loss_231",
    "loss_surface",
    "minibatches",
    "mlp_backward",
    "mlp_forward",
    "mlp_loss",
    "momentum_step",
    "moons",
    "mse",
    "mse_grad",
    "neuron",
    "neuron_loss_grads",
    "numerical_derivative",
    "numerical_gradient",
    "numerical_gradients",
    "one_hot",
    "optimizer_path",
    "predict",
    "predict_labels",
    "relative_error",
    "relu",
    "relu_backward",
    "relu_prime",
    "sigmoid",
    "sigmoid_prime",
    "softmax",
    "softmax_cross_entropy_backward",
    "spirals",
    "standardize",
    "steps_to_reach",
    "study_sleep",
    "tanh",
    "tanh_prime",
    "train",
    "train_classifier",
    "train_test_split",
    "validate_targets",
    "value_grads",
    "value_network_231",
    "xor",
    "zero_grad",
    "zeros_like_params",
]
