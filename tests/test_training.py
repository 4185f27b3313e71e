import pytest
import torch

from helpers.models import AutoEncoder, DigitCNN
from helpers.specs import AutoencoderSpec
from helpers.training import History, reconstruction_loss, train_autoencoder, train_classifier


def test_autoencoder_training_lowers_test_error(mnist_small):
    train, test = mnist_small
    torch.manual_seed(0)
    model = AutoEncoder(8, fc_layers=1, fc_width=64)
    before = reconstruction_loss(model, test.images)["mse"]
    history = train_autoencoder(model, AutoencoderSpec(8, epochs=2, lr=4e-3), train.images, test.images, progress=False)
    assert isinstance(history, History) and len(history.rows) == 2
    assert history.last("test_mse") < 0.8 * before
    assert {"train_loss", "test_mse", "test_bce", "test_psnr"} <= set(history.rows[-1])


def test_training_is_deterministic_for_a_seed(mnist_small):
    train, test = mnist_small
    runs = []
    for _ in range(2):
        torch.manual_seed(0)
        model = AutoEncoder(4, fc_layers=1, fc_width=32)
        runs.append(train_autoencoder(model, AutoencoderSpec(4, epochs=1, seed=3), train.images[:256],
                                      test.images[:64], progress=False).rows)
    assert runs[0] == runs[1]


def test_classifier_training_lowers_loss(mnist_small):
    train, test = mnist_small
    torch.manual_seed(0)
    h = train_classifier(DigitCNN(), train.images, train.labels, epochs=3, lr=2e-3, progress=False,
                         eval_sets={"test": (test.images, test.labels)})
    assert h.rows[-1]["train_loss"] < h.rows[0]["train_loss"]
    assert h.rows[-1]["test_acc"] > 0.3


def test_code_penalty_pulls_codes_towards_a_standard_normal(mnist_small):
    from helpers.metrics import normal_moment_penalty
    from helpers.training import latent_codes

    train, test = mnist_small
    penalties = {}
    for weight in (0.0, 5.0):
        torch.manual_seed(0)
        model = AutoEncoder(4, fc_layers=1, fc_width=32)
        spec = AutoencoderSpec(4, epochs=12, lr=4e-3, code_penalty=weight, batch_size=64)
        train_autoencoder(model, spec, train.images, test.images, progress=False)
        penalties[weight] = normal_moment_penalty(latent_codes(model.encoder, test.images)).item()
    assert penalties[5.0] < 0.5 * penalties[0.0]


def test_denoising_score_uses_seeded_noise_against_clean_images(mnist_small):
    _, test = mnist_small
    torch.manual_seed(0)
    model = AutoEncoder(4, fc_layers=1, fc_width=32)
    clean = reconstruction_loss(model, test.images)["mse"]
    noisy = [reconstruction_loss(model, test.images, input_noise=0.5, seed=1)["mse"] for _ in range(2)]
    assert noisy[0] == noisy[1] and noisy[0] != clean
    import pytest
    with pytest.raises(ValueError, match="input_noise"):
        AutoencoderSpec(4, input_noise=-0.1)


def test_weight_decay_shrinks_the_weights_and_is_validated(mnist_small):
    import pytest

    train, test = mnist_small
    norms = {}
    for wd in (0.0, 0.5):
        torch.manual_seed(0)
        model = AutoEncoder(4, fc_layers=1, fc_width=32)
        train_autoencoder(model, AutoencoderSpec(4, epochs=2, lr=4e-3, weight_decay=wd), train.images, test.images,
                          progress=False)
        norms[wd] = sum(p.pow(2).sum() for n, p in model.named_parameters() if n.endswith("weight")).item()
    assert norms[0.5] < norms[0.0]
    with pytest.raises(ValueError, match="weight_decay"):
        AutoencoderSpec(4, weight_decay=-1.0)
    with pytest.raises(ValueError, match="lr must be > 0"):
        AutoencoderSpec(4, lr=0.0)


def test_seeding_is_local_to_each_call(mnist_small):
    """Training, model building and sampling seed their own draws: the caller's global random
    stream continues as if they had not run."""
    from helpers.gan import train_latent_gan
    from helpers.specs import LatentGANSpec
    from helpers.latent_samplers import GaussianSampler
    from helpers.models import EncoderClassifier, Encoder
    from helpers.specs import HeadSpec
    from helpers.transfer import Features, build_classifier

    train, _ = mnist_small
    torch.manual_seed(0)  # the arguments are made first: only the calls themselves are checked
    classifier, encoder, codes = EncoderClassifier(Encoder(4, fc_layers=0)), Encoder(4, fc_layers=0), torch.randn(64, 3)
    sampler = GaussianSampler(codes)
    features = Features.of(encoder, train.images[:32], train.images[:8])
    calls = [
        lambda: train_classifier(classifier, train.images[:64], train.labels[:64], 1, seed=3, progress=False),
        lambda: train_latent_gan(codes, LatentGANSpec(noise_dim=2, steps=2, batch_size=16, seed=3), progress=False),
        lambda: sampler.sample(5, seed=3),
        lambda: build_classifier("scratch", features, HeadSpec(), 3),
    ]
    for call in calls:
        torch.manual_seed(11)
        expected = torch.rand(3)
        torch.manual_seed(11)
        call()
        assert torch.equal(torch.rand(3), expected)


@pytest.mark.parametrize("value", ["gpu", "cuda:99", "tpu"])
def test_an_unknown_or_absent_device_is_named_with_the_allowed_values(value, monkeypatch):
    from helpers.training import default_device

    if value == "cuda:99" and torch.cuda.device_count() > 99:
        pytest.skip("this machine has a hundred GPUs")
    monkeypatch.setenv("EX3_DEVICE", value)
    with pytest.raises(ValueError) as err:
        default_device()
    message = str(err.value)
    assert "\n" not in message and message.startswith(f"EX3_DEVICE={value!r}")
    assert "cpu, cuda, cuda:<index> or mps" in message
    monkeypatch.setenv("EX3_DEVICE", "cpu")
    assert default_device() == torch.device("cpu")


def test_in_batches_gives_what_one_call_on_all_rows_gives():
    from helpers.training import in_batches

    x, y = torch.randn(10, 3), torch.arange(10)
    f = lambda a, b: a * 2 + (0 if b is None else b[:, None])  # noqa: E731
    assert torch.equal(in_batches(f, x, y, batch_size=3), f(x, y))  # the same rows of each input
    assert torch.equal(in_batches(f, x, None, batch_size=4), f(x, None))  # None passed on
    sums, firsts = in_batches(lambda a: (a.sum(1), a[:, :1]), x, batch_size=3)  # a tuple: each part
    assert torch.equal(sums, x.sum(1)) and torch.equal(firsts, x[:, :1])
    sizes = []
    in_batches(lambda a: sizes.append(len(a)) or a, x, batch_size=4)
    assert sizes == [4, 4, 2]
    with pytest.raises(ValueError, match="batch_size"):
        in_batches(f, x, y, batch_size=0)
