import os
import sys

import pytest

TRAINING = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
REPO = os.path.dirname(TRAINING)
sys.path.insert(0, TRAINING)


@pytest.fixture(scope="session")
def tiny():
    """A tiny random model and its tokenizer (same recipe as the exported CI model)."""
    import export

    model, tok, _ = export.build_random_model(seed=0)
    return model, tok
