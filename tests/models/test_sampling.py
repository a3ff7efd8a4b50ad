"""glassgrad.models.sampling: greedy and top-k draws of the next token, and generate's argument checks."""

import numpy as np
import pytest

import glassgrad as gg
from glassgrad.models.sampling import check_sampling, next_token


def test_greedy_top_k_and_the_draw_frequencies():
    logits = gg.tensor(np.tile(np.array([[0.0, 3.0, 1.0, 2.9, -1.0]]), (400, 1)))
    gg.manual_seed(0)
    drawn = next_token(logits, temperature=1.0, top_k=2).numpy()
    assert drawn.dtype == np.int64 and set(drawn) == {1, 3}  # e^3 : e^2.9, about 52 : 48
    assert 150 < (drawn == 1).sum() < 270
    np.testing.assert_array_equal(next_token(logits, temperature=0).numpy(), np.ones(400))
    two = gg.tensor(np.array([[0.0, 3.0, 1.0, 2.0], [5.0, 0.0, 0.0, 4.0]], np.float32))
    np.testing.assert_array_equal(next_token(two, 1.0, top_k=1).numpy(), [1, 0])
    gg.manual_seed(1)
    first = next_token(two, 0.7).numpy()
    gg.manual_seed(1)
    np.testing.assert_array_equal(next_token(two, 0.7).numpy(), first)


def test_bad_arguments_name_the_api():
    check_sampling("f", np.int64(3), 0, None)
    with pytest.raises(ValueError, match="f: max_new_tokens must be an integer >= 0, got True"):
        check_sampling("f", True, 1.0, None)
    with pytest.raises(ValueError, match=r"f: temperature must be a number >= 0 \(0 = greedy\), got -1.0"):
        check_sampling("f", 1, -1.0, None)
    with pytest.raises(ValueError, match="f: top_k must be None or an integer >= 1, got 0"):
        check_sampling("f", 1, 1.0, 0)
