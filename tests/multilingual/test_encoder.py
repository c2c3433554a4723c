import numpy as np

from service.multilingual.encoder import DIMENSIONS, encoder


def test_the_offline_encoder_puts_a_translation_nearer_than_an_unrelated_sentence() -> None:
    """A Spanish sentence is nearer its English translation than an unrelated English one is (unit vectors)."""
    model = encoder()
    assert model is not None, "the test extra installs the multilingual extra"
    query = model.queries(["unemployment fell to 3% last year"])[0]
    passages = model.passages(["El desempleo bajó al 3 % el año pasado", "The cat sat on the mat all afternoon"])
    assert passages.shape == (2, DIMENSIONS)
    assert np.allclose(np.linalg.norm(passages, axis=1), 1.0, atol=1e-3)
    similarity = passages @ query
    assert similarity[0] > similarity[1] + 0.1


def test_no_text_is_no_rows() -> None:
    """Embedding nothing returns an empty matrix without loading anything."""
    model = encoder()
    assert model is not None
    assert model.passages([]).shape == (0, DIMENSIONS)
