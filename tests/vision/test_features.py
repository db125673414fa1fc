"""EfficientNet preprocessing: ours (torch) = the package's pipeline (PIL); a fault (no normalisation, BGR) is far
off. The linear probe's solution = sklearn LogisticRegression on the same L2-regularised objective."""
import numpy as np
import torch

from modelbook.vision.features import linear_probe, preprocess, preprocess_pil


def test_preprocess_matches_the_package_pipeline_and_faults_do_not():
    import skimage.data

    image = skimage.data.coffee()
    ours, ref = preprocess(image), preprocess_pil(image)
    assert ours.shape == ref.shape == (1, 3, 224, 336)      # shorter side 224, aspect kept, no crop
    assert float((ours - ref).abs().max()) <= 0.02          # the lab's tolerance: PIL's uint8 rounding
    assert float((preprocess(image, normalise=False) - ref).abs().max()) > 0.5      # normalisation forgotten
    assert float((preprocess(image[..., ::-1].copy()) - ref).abs().max()) > 0.5     # OpenCV's BGR order


def test_linear_probe_equals_sklearn_logistic_regression():
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(0)
    f = torch.from_numpy(rng.normal(size=(120, 6))).float()
    y = torch.from_numpy(rng.integers(0, 3, 120))
    f[:, 0] += y.float()                                    # some signal
    l2 = 0.1
    predict = linear_probe(f, y, 3, l2=l2)
    x = ((f - f.mean(0)) / (f.std(0) + 1e-6)).double().numpy()
    ref = LogisticRegression(C=1 / (l2 * len(f)), tol=1e-10, max_iter=1000).fit(x, y.numpy())
    W, b = predict.weights
    # softmax parameters are defined up to a shift per feature; sklearn's multinomial fit centres them
    W, b = W - W.mean(1, keepdim=True), b - b.mean()
    np.testing.assert_allclose(W.T.numpy(), ref.coef_, atol=1e-4)
    np.testing.assert_allclose(b.numpy(), ref.intercept_ - ref.intercept_.mean(), atol=1e-4)
