import pytest
import torch

from gan_art import directions
from gan_art.attributes import load_classifier
from gan_art.checkpoints import load_generator
from gan_art.directions import (
    fit_linear_direction,
    inherited_directions,
    labelled_directions,
    load_directions,
    moved_shares,
    pca_directions,
    save_custom_direction,
    save_directions,
)
from gan_art.errors import DirectionError
from gan_art.explore import Direction
from gan_art.models import build_generator
from tests.conftest import REPO, tiny_model


@pytest.fixture
def generator():
    torch.manual_seed(0)
    return build_generator(tiny_model()).eval()


def test_pca_directions_are_deterministic_and_orthonormal(generator):
    first = pca_directions(generator, num_components=6, num_samples=2000, seed=0)
    second = pca_directions(generator, num_components=6, num_samples=2000, seed=0)
    assert [d.name for d in first] == [f"PC{i}" for i in range(1, 7)]
    for a, b in zip(first, second):
        assert torch.equal(a.vector, b.vector)
    vectors = torch.stack([d.vector for d in first])
    units = vectors / vectors.norm(dim=1, keepdim=True)
    assert torch.allclose(units @ units.T, torch.eye(6), atol=1e-5)
    norms = vectors.norm(dim=1)
    assert (norms[:-1] >= norms[1:]).all()  # sorted by standard deviation


def test_linear_fit_recovers_a_planted_direction():
    torch.manual_seed(0)
    w = torch.randn(4000, 16) @ torch.diag(torch.linspace(0.5, 2.0, 16))
    truth = torch.nn.functional.normalize(torch.randn(16), dim=0)
    scores = w @ truth + 0.05 * torch.randn(4000)
    found = fit_linear_direction(w, scores).float()
    assert float(found @ truth) > 0.99


class BrightnessClassifier(torch.nn.Module):
    """Scores 'gender' by red minus blue and 'age' (in decades) by brightness: easy to check."""

    def forward(self, images):
        return torch.stack([images[:, 0].mean([1, 2]) - images[:, 2].mean([1, 2]), images.mean([1, 2, 3])], 1)


def test_labelled_directions_move_the_classifier_score(generator):
    from gan_art.attributes import predict
    from gan_art.explore import synthesize

    found = {d.name: d for d in labelled_directions(generator, BrightnessClassifier(), num_samples=1000)}
    assert set(found) == {"age", "gender"}
    age, gender = found["age"].vector, found["gender"].vector
    assert abs(float(age @ gender)) < 1e-4  # age was made orthogonal to gender
    ws = generator.mapping(torch.randn(64, 8))
    before = predict(BrightnessClassifier(), synthesize(generator, ws))
    after = predict(BrightnessClassifier(), synthesize(generator, ws + 2 * age))
    assert (after[:, 1] > before[:, 1]).float().mean() > 0.9


def test_directions_save_load_and_custom_names(tmp_path, generator):
    directions = pca_directions(generator, num_components=3, num_samples=500)
    save_directions(tmp_path, directions, {"checkpoint_id": "x"})
    save_custom_direction(tmp_path, "my look", directions[0].vector + directions[1].vector, "+1 PC1 +1 PC2")
    loaded = load_directions(tmp_path)
    assert [d.name for d in loaded] == ["PC1", "PC2", "PC3", "my look"]
    assert torch.equal(loaded[0].vector, directions[0].vector)
    assert loaded[-1].kind == "custom" and loaded[-1].description == "+1 PC1 +1 PC2"
    for bad in ("../escape", "/etc/passwd", "", "a/b", "x" * 41, ".hidden"):
        with pytest.raises(DirectionError):
            save_custom_direction(tmp_path, bad, directions[0].vector, "")
    with pytest.raises(DirectionError, match="all sliders are at 0"):
        save_custom_direction(tmp_path, "zero", torch.zeros(8), "")
    assert sorted(p.name for p in (tmp_path / "custom-directions").iterdir()) == ["my look.safetensors"]


def test_a_fine_tuned_model_keeps_the_parent_directions_that_still_move_their_attribute_and_refits_the_others():
    """Measured on the model's own faces with the attribute classifier: the shipped directions on the shipped
    model are kept; the same directions turned around (a model on which they stopped working) are fitted again
    on its faces, and those move their attribute."""
    faces = load_generator(REPO / "checkpoints" / "faces")
    parent = load_directions(faces.path)
    classifier = load_classifier(REPO / "checkpoints" / "attributes", "a")
    kept = inherited_directions(faces.generator, parent, classifier, "faces", num_faces=64)
    assert sorted(d.name for d in kept) == ["age", "gender"] and "from faces, +2 moves it on" in kept[0].description
    turned = [Direction(d.name, d.kind, -d.vector, d.description) for d in parent]
    refitted = {d.name: d for d in inherited_directions(faces.generator, turned, classifier, "faces",
                                                        num_faces=32, refit_faces=300)}
    assert sorted(refitted) == ["age", "gender"]
    turned = {d.name: d for d in turned}
    for name, direction in refitted.items():
        assert "fitted on this model's faces" in direction.description
        assert torch.cosine_similarity(direction.vector, turned[name].vector, 0) < 0  # it points the right way


def test_a_doubtful_parent_direction_stays_only_if_it_moves_its_attribute_more_than_the_refitted_one(monkeypatch):
    """Below TRUST_INHERITED both are measured and the one that moves more faces is what Explore gets."""
    monkeypatch.setattr(directions, "TRUST_INHERITED", 1.01)  # every parent direction is doubtful
    faces = load_generator(REPO / "checkpoints" / "faces")
    classifier = load_classifier(REPO / "checkpoints" / "attributes", "a")
    parent = [d for d in load_directions(faces.path) if d.kind == "labelled"]
    chosen = inherited_directions(faces.generator, parent, classifier, "faces", num_faces=32, refit_faces=300)
    refitted = labelled_directions(faces.generator, classifier, num_samples=300)
    assert sorted(d.name for d in chosen) == ["age", "gender"]
    shares = {kind: moved_shares(faces.generator, found, classifier, num_faces=32)
              for kind, found in (("chosen", chosen), ("parent", parent), ("refitted", refitted))}
    for d in chosen:
        assert shares["chosen"][d.name] == max(shares["parent"][d.name], shares["refitted"][d.name])
        from_parent = "from faces" in d.description
        assert torch.equal(d.vector, next(p.vector for p in parent if p.name == d.name)) == from_parent
