"""R-precision protocols (attngan.metrics.r_precision): ours against a per-image loop, ``dmgan`` against a
transcription of DM-GAN's ``trainer.py`` ``sampling`` written here."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from attngan.errors import ConfigError
from attngan.metrics.options import MetricOptions
from attngan.metrics.r_precision import (
    R_PRECISION_PROTOCOLS,
    RPrecision,
    r_precision,
    sample_mismatched_candidates,
)
from attngan.metrics.r_precision_dmgan import dmgan_folds, sample_dmgan_mismatches
from attngan.metrics.registry import build_available


def _features(
    n: int, d: int = 8, seed: int = 0, quantised: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(seed)
    if quantised:  # few distinct small-integer vectors: many exact ties, computed exactly by any code
        images = torch.randint(-2, 3, (n, 3), generator=generator).float()
        others = torch.randint(-2, 3, (n, 3), generator=generator).float()
        keep = torch.rand(n, 1, generator=generator) < 0.5  # half the captions match their image exactly
        return images, torch.where(keep, images, others)
    images = torch.randn(n, d, generator=generator)
    return images, images + 1.5 * torch.randn(n, d, generator=generator)


def _cos(a: np.ndarray, b: np.ndarray) -> float:
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# ----------------------------------------------------------------------------------------- default protocol


@pytest.mark.parametrize("with_classes", [True, False])
def test_default_protocol_against_a_per_image_loop(with_classes: bool) -> None:
    n, num_candidates, num_folds, seed = 420, 100, 10, 3
    images, sentences = _features(n, seed=1)
    class_ids = torch.arange(n) % 7 if with_classes else None
    result = r_precision(images, sentences, class_ids, num_candidates, num_folds, seed)

    ids = class_ids if class_ids is not None else torch.full((n,), -1)
    candidates, valid = sample_mismatched_candidates(
        ids, num_candidates - 1, torch.Generator().manual_seed(seed)
    )
    assert bool(valid.all())
    x, y = images.double().numpy(), sentences.double().numpy()
    correct = np.zeros(n)
    for i in range(n):
        wrong = candidates[i].tolist()
        assert len(set(wrong)) == num_candidates - 1 and i not in wrong  # distinct, never itself
        if with_classes:
            assert all(int(ids[j]) != int(ids[i]) for j in wrong)
        own = _cos(x[i], y[i])
        correct[i] = own > max(_cos(x[i], y[j]) for j in wrong)
    folds = [fold.mean() for fold in np.array_split(correct, num_folds)]
    assert float(result["r_precision"]) == pytest.approx(np.mean(folds), abs=1e-6)
    assert float(result["r_precision_std"]) == pytest.approx(np.std(folds), abs=1e-6)
    assert 0.05 < float(result["r_precision"]) < 0.95  # neither trivial


def test_collapsed_encoder_scores_0_by_default_and_1_with_dmgan() -> None:
    same = torch.ones(200, 4)
    assert float(r_precision(same, same)["r_precision"]) == 0.0  # a tie is a miss
    assert (
        float(r_precision(same, same, protocol="dmgan")["r_precision"]) == 1.0
    )  # argmax picks the own caption


# ----------------------------------------------------------------------------------------- dmgan protocol


def _dmgan_transcription(
    cnn_code: np.ndarray, sent_emb: np.ndarray, mismatches: np.ndarray, seed: int
) -> tuple[float, float]:
    """DM-GAN code/trainer.py ``sampling``, the R-precision part, in numpy (float32) with its fold slicing.

    ``mismatches[i]`` are the 99 mismatched captions of image ``i`` (``dataset.get_mis_caption(class_ids[i])``);
    the global numpy state is seeded before ``np.random.shuffle(R)``, as DM-GAN's ``main.py`` seeds it.
    """
    R = np.zeros(30000)
    R_count = 0
    for i in range(cnn_code.shape[0]):
        rnn_code = np.concatenate([sent_emb[i][None, :], sent_emb[mismatches[i]]], 0)  # 100 x nef
        scores = cnn_code[i][None, :] @ rnn_code.T  # 1 x 100
        cnn_code_norm = np.linalg.norm(cnn_code[i][None, :], 2, axis=1, keepdims=True)
        rnn_code_norm = np.linalg.norm(rnn_code, 2, axis=1, keepdims=True)
        norm = cnn_code_norm @ rnn_code_norm.T
        scores0 = scores / np.maximum(norm, np.float32(1e-8))
        if np.argmax(scores0) == 0:
            R[R_count] = 1
        R_count += 1  # noqa: SIM113 (DM-GAN's loop)
    state = np.random.get_state()
    try:
        np.random.seed(seed)
        total = np.zeros(10)
        np.random.shuffle(R)
        for i in range(10):
            total[i] = np.average(R[i * 3000 : (i + 1) * 3000 - 1])
    finally:
        np.random.set_state(state)
    return float(np.average(total)), float(np.std(total))


@pytest.mark.parametrize("quantised", [False, True])
def test_dmgan_protocol_against_a_transcription_of_its_code(quantised: bool) -> None:
    n, seed = 30000, 5
    images, sentences = _features(n, seed=2, quantised=quantised)
    class_ids = torch.arange(n) % 50  # the 50 CUB test classes
    result = r_precision(
        images, sentences, class_ids, num_candidates=100, num_folds=10, seed=seed, protocol="dmgan"
    )

    mismatches, valid = sample_dmgan_mismatches(class_ids, 99, torch.Generator().manual_seed(seed))
    assert bool(valid.all())
    mean, std = _dmgan_transcription(images.numpy(), sentences.numpy(), mismatches.numpy(), seed)
    assert float(result["r_precision"]) == pytest.approx(mean, abs=1e-7)
    assert float(result["r_precision_std"]) == pytest.approx(std, abs=1e-7)
    default = float(r_precision(images, sentences, class_ids, seed=seed)["r_precision"])
    if quantised:  # exact ties are hits for DM-GAN, misses for us
        assert float(result["r_precision"]) > default + 0.05
    else:
        assert float(result["r_precision"]) == pytest.approx(default, abs=0.03)


def test_dmgan_mismatches_come_from_other_classes_with_replacement() -> None:
    class_ids = torch.tensor([0] * 5 + [1] * 3 + [2] * 2 + [-1] * 2)
    draws, valid = sample_dmgan_mismatches(class_ids, 4000, torch.Generator().manual_seed(0))
    assert draws.shape == (12, 4000) and bool(valid.all())
    for i in range(12):
        row = draws[i]
        if class_ids[i] >= 0:
            assert bool((class_ids[row] != class_ids[i]).all())
        else:
            assert bool((row != i).all())  # an unknown class is its own: every other sample is allowed
        allowed = [j for j in range(12) if j != i and (class_ids[i] < 0 or class_ids[j] != class_ids[i])]
        counts = torch.bincount(row, minlength=12)[allowed].double()
        assert set(row.tolist()) == set(allowed)  # uniform over the allowed samples, repeats included
        assert float(counts.max() / counts.min()) < 1.35
    one_class = sample_dmgan_mismatches(torch.zeros(4, dtype=torch.long), 3, torch.Generator())[1]
    assert not bool(one_class.any())  # nothing to draw from


def test_dmgan_folds_leave_out_the_last_sample_of_every_fold() -> None:
    hits = torch.zeros(30)
    folds_of = dmgan_folds(hits, 3, seed=0)
    assert folds_of.shape == (3,) and float(folds_of.sum()) == 0.0
    # a single hit counts only when the shuffle does not put it at the end of a fold
    for seed in range(20):
        one = torch.zeros(30)
        one[0] = 1
        shuffled = one.numpy().copy()
        np.random.RandomState(seed).shuffle(shuffled)
        position = int(np.flatnonzero(shuffled)[0])
        expected = 0.0 if position % 10 == 9 else 1 / 9 / 3
        assert float(dmgan_folds(one, 3, seed).mean()) == pytest.approx(expected)
    with pytest.raises(ValueError, match="at least 2 samples per fold"):
        dmgan_folds(torch.zeros(5), 5, seed=0)


# ----------------------------------------------------------------------------------------- configuration


def test_protocol_is_validated_and_reaches_the_metric() -> None:
    assert R_PRECISION_PROTOCOLS == ("default", "dmgan")
    with pytest.raises(
        ConfigError, match=r"unknown R-precision protocol 'paper' \(metrics\.r_precision\.protocol\)"
    ):
        RPrecision(protocol="paper")
    with pytest.raises(ConfigError, match="unknown R-precision protocol"):
        r_precision(torch.ones(4, 2), torch.ones(4, 2), num_candidates=2, num_folds=1, protocol="paper")
    metrics, _ = build_available(["r_precision"], MetricOptions(r_precision_protocol="dmgan"))
    assert metrics["r_precision"].protocol == "dmgan"
    same = torch.ones(100, 4)
    metrics["r_precision"].update(same, same)
    assert float(metrics["r_precision"].compute()["r_precision"]) == 1.0


def test_eval_config_keys() -> None:
    from attngan.config import compose_config
    from attngan.evaluation.run import read_metrics_config

    cfg = compose_config(
        "eval", ["checkpoint=x.ckpt", "metrics.r_precision.protocol=dmgan", "metrics.clip.model_path=/m"]
    )
    names, options = read_metrics_config(cfg)
    assert names is None and options.r_precision_protocol == "dmgan" and options.clip_model_path == "/m"
    assert compose_config("eval", ["checkpoint=x.ckpt"]).compare is None
    _, options = read_metrics_config(compose_config("eval", ["checkpoint=x.ckpt", "seed=3"]))
    assert options.clip_model_path is None and options.seed == 3
    # the one check of the protocol is the metric's: a config that asks for R-precision is refused when built
    with pytest.raises(ConfigError, match=r"metrics\.r_precision\.protocol"):
        build_available(["r_precision"], MetricOptions.from_config({"r_precision": {"protocol": "paper"}}))


def test_training_callback_takes_the_metrics_group() -> None:
    from hydra.utils import instantiate

    from attngan.config import compose_config

    cfg = compose_config("train", ["callbacks.evaluation.r_precision.protocol=dmgan"])
    callback = instantiate(cfg.callbacks.evaluation)
    assert callback.options.r_precision_protocol == "dmgan" and callback.options.clip_model_path is None
