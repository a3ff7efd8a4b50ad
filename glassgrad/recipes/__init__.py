"""The reference models as trainable recipes: ``python -m glassgrad train RECIPE``.

Each module builds one model with its data, loss and default hyperparameters and
registers itself by name; ``list_recipes()`` returns them in the order below.
"""

from . import linreg, mlp_tiny, mlp_bce, softmax_regression, mnist_cnn, cifar_cnn, image_cnn, gan  # noqa: I001 - listing order
from . import char_lstm, gpt, bert_classifier  # the text recipes, in listing order
from .registry import Recipe, get_recipe, list_recipes, register

__all__ = ["Recipe", "get_recipe", "list_recipes", "register"]
