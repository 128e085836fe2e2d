"""Optimizers: the lecture's gradient descent and its adaptive descendants.

Each optimizer is a class that holds state (moment buffers, step counts) beside a pure
function on arrays that does the update (``sgd_update``, ``adagrad_update``,
``rmsprop_update``, ``adam_update``). Names, arguments, defaults and update rules are
PyTorch's ``torch.optim``; ``GD`` is the lecture's ``W <- W - alpha * dL/dW``.
Learning-rate schedules live in ``glassnet.optim.lr_scheduler``.
"""

from glassnet.optim import lr_scheduler
from glassnet.optim.adagrad import AdaGrad, Adagrad, adagrad_update
from glassnet.optim.adam import Adam, AdamW, adam_update
from glassnet.optim.optimizer import Constraint, Optimizer
from glassnet.optim.rmsprop import RMSProp, RMSprop, rmsprop_update
from glassnet.optim.sgd import GD, SGD, sgd_update

__all__ = [
    "GD",
    "SGD",
    "AdaGrad",
    "Adagrad",
    "Adam",
    "AdamW",
    "Constraint",
    "Optimizer",
    "RMSProp",
    "RMSprop",
    "adagrad_update",
    "adam_update",
    "lr_scheduler",
    "rmsprop_update",
    "sgd_update",
]
