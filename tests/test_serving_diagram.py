"""The request-path picture of notebook 07: every label readable, inside the figure, clear of the others."""
import pytest

from crepe.serving.diagram import draw_request_path


@pytest.fixture
def drawn():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(13, 5.4))
    texts = draw_request_path(ax, 16, 5)
    fig.tight_layout()                                 # as the notebook does
    fig.canvas.draw()
    yield fig, ax, texts
    plt.close(fig)


def _extents(fig, texts):
    renderer = fig.canvas.get_renderer()
    return [(t.get_text(), t.get_window_extent(renderer)) for t in texts if t.get_text()]


def test_draw_request_path_shows_the_registration_settings(drawn):
    _, _, texts = drawn
    assert any("batch_size=16, max_batch_delay=5 ms" in t.get_text() for t in texts)


def test_draw_request_path_keeps_every_label_inside_the_drawing(drawn):
    fig, ax, texts = drawn
    inside = ax.bbox                                   # tight_layout would make room for a label outside it
    for text, box in _extents(fig, [t for t in texts if t is not ax.title]):
        assert inside.x0 <= box.x0 and box.x1 <= inside.x1 and inside.y0 <= box.y0 and box.y1 <= inside.y1, text


def test_draw_request_path_draws_no_label_over_another(drawn):
    fig, _, texts = drawn
    extents = _extents(fig, texts)
    for i, (first, one) in enumerate(extents):
        for second, other in extents[i + 1:]:
            assert not one.overlaps(other), (first, second)
