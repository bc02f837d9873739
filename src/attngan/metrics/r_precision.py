"""R-precision (Xu et al., CVPR 2018, §4): does the DAMSM retrieve a generated image's own caption?

For every generated image, its own caption and ``num_candidates - 1`` mismatched captions are ranked by the
cosine of the DAMSM global image vector and sentence vectors. With R = 1 the metric is top-1 accuracy, reported
as mean and standard deviation over ``num_folds`` folds (the paper's "67.82 ± 4.43 %" over 10 folds of 30,000
images). Two protocols (``metrics.r_precision.protocol``):

- ``default`` (ours): mismatches are distinct samples of other classes (uniform without replacement), a tie with
  a mismatch is a miss (a collapsed encoder scores 0, not 1), the samples in evaluation order form ``num_folds``
  contiguous folds covering every sample.
- ``dmgan``: DM-GAN's ``trainer.py`` ``sampling`` / ``datasets.py`` ``get_mis_caption``, the code behind the
  R-precision numbers of DM-GAN, DF-GAN and most later tables: mismatches drawn uniformly *with* replacement
  among the samples of other classes; ``torch.argmax(scores) == 0`` decides, so a tie counts as a hit; cosine
  as ``a·b / max(|a||b|, 1e-8)`` in float32; the 0/1 hits are shuffled (``np.random.shuffle``, seeded here),
  then fold ``i`` is ``R[i*s:(i+1)*s-1]`` with ``s = N // num_folds`` (DM-GAN: ``R[i*3000:(i+1)*3000-1]``), which
  leaves out the last sample of every fold (2,999 of 3,000); mean of the fold means and ``np.std`` (ddof 0).

The ``dmgan`` pieces are in :mod:`attngan.metrics.r_precision_dmgan`; ``docs/evaluation.md`` compares both
protocols with DM-GAN's code line by line.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import Tensor
from torchmetrics import Metric
from torchmetrics.utilities import dim_zero_cat

from attngan.errors import ConfigError
from attngan.metrics.r_precision_dmgan import dmgan_folds, dmgan_hits, sample_dmgan_mismatches

__all__ = [
    "R_PRECISION_PROTOCOLS",
    "RPrecision",
    "r_precision",
    "sample_mismatched_candidates",
]

#: ``metrics.r_precision.protocol`` values (see the module docstring).
R_PRECISION_PROTOCOLS = ("default", "dmgan")

# Rows of the (rows, N) random-key matrix drawn at once: about 64 MiB of float32 whatever N is.
_KEY_BUDGET = 1 << 24


def _exact_rows(rows: Tensor, class_ids: Tensor, k: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
    """Random keys over all N samples, forbidden ones at -inf, the k largest win: ``(R, k)`` twice."""
    n = class_ids.numel()
    rows_per_chunk = max(1, _KEY_BUDGET // n)
    all_indices, all_valid = [], []
    for chunk in rows.split(rows_per_chunk):
        keys = torch.rand(chunk.numel(), n, generator=generator)  # (R, N)
        forbidden = chunk[:, None] == torch.arange(n)[None, :]  # (R, N) the sample itself
        own_class = class_ids[chunk][:, None]  # (R, 1)
        forbidden |= (own_class >= 0) & (class_ids[None, :] == own_class)
        keys.masked_fill_(forbidden, float("-inf"))
        top_keys, top_indices = keys.topk(k, dim=1)  # (R, k)
        all_indices.append(top_indices)
        all_valid.append(torch.isfinite(top_keys))
    return torch.cat(all_indices), torch.cat(all_valid)


def _rejection_rows(
    rows: Tensor, class_ids: Tensor, k: int, num_draws: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Draw ``num_draws`` uniform indices per row, drop forbidden ones and repeats, keep the first k.

    The first k distinct allowed draws are a uniform k-subset of the allowed samples. Returns
    ``(indices (R', k), done (R,) bool)``: rows with fewer than k usable draws are not done.
    """
    n = class_ids.numel()
    draws = torch.randint(n, (rows.numel(), num_draws), generator=generator)  # (R, m)
    own_class = class_ids[rows][:, None]  # (R, 1)
    drop = (draws == rows[:, None]) | ((own_class >= 0) & (class_ids[draws] == own_class))
    # repeats: after a stable sort equal values keep their draw order, so all but the first are marked
    ordered, order = draws.sort(dim=1, stable=True)
    repeat_sorted = torch.zeros_like(drop)
    repeat_sorted[:, 1:] = ordered[:, 1:] == ordered[:, :-1]
    drop |= torch.zeros_like(drop).scatter_(1, order, repeat_sorted)
    keep = ~drop
    rank = keep.cumsum(dim=1)  # (R, m) 1-based rank of each kept draw
    done = rank[:, -1] >= k
    chosen = keep & (rank <= k) & done[:, None]
    return draws[chosen].view(-1, k), done


def sample_mismatched_candidates(
    class_ids: Tensor, num_mismatched: int, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    """Draw, for every sample, ``num_mismatched`` distinct other samples, from other classes where known.

    Sampling is uniform without replacement among the allowed samples (not itself; not its class when both
    class ids are known), vectorised over samples. Large sets draw a few more indices than needed per sample
    and keep the first distinct allowed ones (rejection sampling, ~1 s for 30,000 samples); small sets and
    the samples rejection leaves short rank random keys over all samples (exact, O(N) per sample).

    Args:
        class_ids: ``(N,)`` long; ``-1`` marks an unknown class, which never excludes anything.
        num_mismatched: candidates per sample (99 for the paper's 100 candidates).
        generator: CPU generator that makes the draw reproducible.

    Returns:
        ``(indices (N, K) long, valid (N, K) bool)``: indices of the mismatched samples with
        ``K = min(num_mismatched, N - 1)``. ``valid`` is False where a sample has fewer allowed mismatches
        than ``K`` (only possible with class ids); those slots must be ignored.
    """
    if class_ids.dim() != 1:
        raise ValueError(f"class_ids must be (N,), got shape {tuple(class_ids.shape)}")
    class_ids = class_ids.cpu().long()
    n = class_ids.numel()
    k = min(num_mismatched, n - 1)
    rows = torch.arange(n)
    if k <= 0:
        empty = torch.zeros(n, 0, dtype=torch.long)
        return empty, empty.bool()
    if n * n <= _KEY_BUDGET:
        return _exact_rows(rows, class_ids, k, generator)

    known = class_ids >= 0
    class_size = torch.zeros(n, dtype=torch.long)
    if bool(known.any()):
        _, inverse, counts = class_ids[known].unique(return_inverse=True, return_counts=True)
        class_size[known] = counts[inverse]
    allowed_share = (n - 1 - class_size + known.long()) / n  # (N,) share of draws that are usable
    easy = allowed_share >= 0.5
    num_draws = int(k / 0.5 * 1.2) + 64  # plenty when at least half of the draws are usable
    indices = torch.empty(n, k, dtype=torch.long)
    valid = torch.ones(n, k, dtype=torch.bool)
    exact = rows[~easy]
    if bool(easy.any()):
        easy_rows = rows[easy]
        drawn, done = _rejection_rows(easy_rows, class_ids, k, num_draws, generator)
        indices[easy_rows[done]] = drawn
        exact = torch.cat([exact, easy_rows[~done]])
    if exact.numel():
        indices[exact], valid[exact] = _exact_rows(exact, class_ids, k, generator)
    return indices, valid


def r_precision(
    image_features: Tensor,
    sentence_features: Tensor,
    class_ids: Tensor | None = None,
    num_candidates: int = 100,
    num_folds: int = 10,
    seed: int = 0,
    std_ddof: int = 0,
    protocol: str = "default",
) -> dict[str, Tensor]:
    """R-precision (R = 1) of matched image / sentence features, as mean and std over folds.

    Default protocol: sample ``i`` is correct when the cosine of its image and its own sentence is *strictly*
    larger than the cosine with every one of its mismatched candidates (distinct samples): a tie counts as a
    miss, so a collapsed encoder that maps everything to one vector scores 0, not 1. ``protocol="dmgan"``
    reproduces DM-GAN's computation instead (see the module docstring).

    Args:
        image_features: ``(N, D)`` DAMSM global image vectors of the generated images.
        sentence_features: ``(N, D)`` DAMSM sentence vectors of the captions they were generated from.
        class_ids: ``(N,)`` long class per sample, ``-1`` where unknown; mismatches are drawn from other
            classes when both ids are known. ``None`` means no classes (COCO).
        num_candidates: captions ranked per image, its own included (100 in the paper).
        num_folds: contiguous folds the samples are split into (10 in the paper).
        seed: seed of the mismatch draw; the same seed, features and order give the same result.
        std_ddof: delta degrees of freedom of the fold std; ``0`` is the population std that ``numpy.std``
            gives, as in the release-era evaluation code, ``1`` the sample std (``dmgan``: always 0).
        protocol: ``"default"`` or ``"dmgan"`` (:data:`R_PRECISION_PROTOCOLS`).

    Returns:
        ``{"r_precision": mean, "r_precision_std": std}``, 0-dim float tensors, fractions in [0, 1].

    Raises:
        ConfigError: an unknown protocol.
        ValueError: on mismatched shapes, or when there are fewer than ``num_candidates``
            samples or fewer samples than folds.
    """
    _check_protocol(protocol)
    if image_features.dim() != 2 or image_features.shape != sentence_features.shape:
        raise ValueError(
            "image_features and sentence_features must both be (N, D) with the same shape, got "
            f"{tuple(image_features.shape)} and {tuple(sentence_features.shape)}"
        )
    n = image_features.shape[0]
    if n < num_candidates:
        raise ValueError(
            f"R-precision with {num_candidates} candidates needs at least {num_candidates} samples, got {n}. "
            "Evaluate more images or lower num_candidates."
        )
    if n < num_folds:
        raise ValueError(f"R-precision over {num_folds} folds needs at least {num_folds} samples, got {n}.")
    if class_ids is None:
        class_ids = torch.full((n,), -1, dtype=torch.long)
    if class_ids.shape != (n,):
        raise ValueError(f"class_ids must be ({n},), got {tuple(class_ids.shape)}")

    generator = torch.Generator().manual_seed(seed)
    if protocol == "dmgan":
        candidates, valid = sample_dmgan_mismatches(class_ids.long(), num_candidates - 1, generator)
        device = image_features.device
        hits = dmgan_hits(image_features, sentence_features, candidates.to(device), valid.to(device))
        folds = dmgan_folds(hits, num_folds, seed)
        return {"r_precision": folds.mean().float(), "r_precision_std": folds.std(correction=0).float()}
    candidates, valid = sample_mismatched_candidates(class_ids.long(), num_candidates - 1, generator)
    num_short = int((~valid).any(dim=1).sum())
    if num_short:
        warnings.warn(
            f"R-precision: {num_short} of {n} samples have fewer than {num_candidates - 1} mismatched captions "
            "of another class; they are ranked against all the mismatches available.",
            stacklevel=2,
        )

    device = image_features.device
    images = F.normalize(image_features.float(), dim=1)  # (N, D)
    sentences = F.normalize(sentence_features.float(), dim=1)  # (N, D)
    candidates, valid = candidates.to(device), valid.to(device)
    true_scores = (images * sentences).sum(dim=1)  # (N,)
    correct = torch.empty(n, dtype=torch.bool, device=device)
    rows_per_chunk = max(1, _KEY_BUDGET // max(1, candidates.shape[1] * images.shape[1]))
    for start in range(0, n, rows_per_chunk):
        stop = min(start + rows_per_chunk, n)
        wrong = sentences[candidates[start:stop]]  # (R, K, D)
        wrong_scores = torch.einsum("rd,rkd->rk", images[start:stop], wrong)  # (R, K)
        wrong_scores = wrong_scores.masked_fill(~valid[start:stop], float("-inf"))
        best_wrong = wrong_scores.max(dim=1).values  # -inf when a sample has no valid mismatch at all
        correct[start:stop] = true_scores[start:stop] > best_wrong

    fold_accuracy = torch.stack([fold.float().mean() for fold in torch.tensor_split(correct, num_folds)])
    return {
        "r_precision": fold_accuracy.mean(),
        "r_precision_std": fold_accuracy.std(correction=std_ddof),
    }


def _check_protocol(protocol: str) -> None:
    """The one check of ``metrics.r_precision.protocol`` (:class:`ConfigError`, as the FID protocol's)."""
    if protocol not in R_PRECISION_PROTOCOLS:
        raise ConfigError(
            f"unknown R-precision protocol {protocol!r} (metrics.r_precision.protocol); choose from "
            f"{list(R_PRECISION_PROTOCOLS)}"
        )


class RPrecision(Metric):
    """R-precision (R = 1) of DAMSM global image vectors against sentence vectors; DDP-safe.

    Features are accumulated (``dist_reduce_fx="cat"``) and ranked in :meth:`compute`; see
    :func:`r_precision` for the definition, tie rule and fold statistics.

    Order: the mismatch draw and the folds depend on the order of the samples. Pass ``indices`` (each sample's
    position in the evaluation set) to :meth:`update` and the samples are sorted by it after the gather, so the
    result does not depend on the number of processes or the rank order; duplicate indices (the padding of a
    ``DistributedSampler``) are dropped. Without ``indices`` the order is the order of updates, rank by rank,
    which is reproducible for a fixed world size and sampler.

    Args:
        num_candidates: captions ranked per image, its own included (100 in the paper).
        num_folds: folds for mean and std (10 in the paper).
        seed: seed of the mismatch draw.
        std_ddof: 0 = population std (``numpy.std``, release-era code), 1 = sample std.
        protocol: ``"default"`` or ``"dmgan"`` (see the module docstring).
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(
        self,
        num_candidates: int = 100,
        num_folds: int = 10,
        seed: int = 0,
        std_ddof: int = 0,
        protocol: str = "default",
        **kwargs,
    ) -> None:
        super().__init__(**kwargs)
        _check_protocol(protocol)
        if num_candidates < 2:
            raise ValueError(f"num_candidates must be >= 2, got {num_candidates}")
        if num_folds < 1:
            raise ValueError(f"num_folds must be >= 1, got {num_folds}")
        self.num_candidates = num_candidates
        self.num_folds = num_folds
        self.seed = seed
        self.std_ddof = std_ddof
        self.protocol = protocol
        self.add_state("image_features", default=[], dist_reduce_fx="cat")
        self.add_state("sentence_features", default=[], dist_reduce_fx="cat")
        self.add_state("class_ids", default=[], dist_reduce_fx="cat")
        self.add_state("indices", default=[], dist_reduce_fx="cat")

    def update(
        self,
        image_features: Tensor,
        sentence_features: Tensor,
        class_ids: Tensor | None = None,
        indices: Tensor | None = None,
    ) -> None:
        """Add a batch of matched pairs.

        Args:
            image_features: ``(B, D)`` DAMSM global vectors of the generated images.
            sentence_features: ``(B, D)`` DAMSM sentence vectors of their captions.
            class_ids: ``(B,)`` long, ``-1`` = unknown; ``None`` = unknown for the whole batch.
            indices: ``(B,)`` long positions in the evaluation set (optional, see the class docstring).
                Give them for every batch or for none.
        """
        if image_features.dim() != 2 or image_features.shape != sentence_features.shape:
            raise ValueError(
                "image_features and sentence_features must both be (B, D) with the same shape, got "
                f"{tuple(image_features.shape)} and {tuple(sentence_features.shape)}"
            )
        batch = image_features.shape[0]
        if class_ids is None:
            class_ids = torch.full((batch,), -1, dtype=torch.long, device=image_features.device)
        if indices is None:
            indices = torch.full((batch,), -1, dtype=torch.long, device=image_features.device)
        if class_ids.shape != (batch,) or indices.shape != (batch,):
            raise ValueError(
                f"class_ids and indices must be ({batch},), got {tuple(class_ids.shape)} and {tuple(indices.shape)}"
            )
        self.image_features.append(image_features.detach().float())
        self.sentence_features.append(sentence_features.detach().float())
        self.class_ids.append(class_ids.detach().long())
        self.indices.append(indices.detach().long())

    def compute(self) -> dict[str, Tensor]:
        """Rank the accumulated samples.

        Returns:
            ``{"r_precision": mean, "r_precision_std": std}`` over folds, fractions in [0, 1].
        """
        state = self.image_features
        if (isinstance(state, list) and not state) or (isinstance(state, Tensor) and state.numel() == 0):
            raise RuntimeError("RPrecision.compute() called before any update().")
        image_features = dim_zero_cat(self.image_features)
        sentence_features = dim_zero_cat(self.sentence_features)
        class_ids = dim_zero_cat(self.class_ids)
        indices = dim_zero_cat(self.indices)
        given = indices >= 0
        if bool(given.any()):
            if not bool(given.all()):
                raise ValueError("RPrecision.update() got indices for some batches but not for others.")
            order = torch.argsort(indices, stable=True)
            indices = indices[order]
            keep = torch.ones_like(indices, dtype=torch.bool)
            keep[1:] = indices[1:] != indices[:-1]  # drop the duplicates a DistributedSampler pads with
            order = order[keep]
            image_features, sentence_features = image_features[order], sentence_features[order]
            class_ids = class_ids[order]
        return r_precision(
            image_features,
            sentence_features,
            class_ids.cpu(),
            num_candidates=self.num_candidates,
            num_folds=self.num_folds,
            seed=self.seed,
            std_ddof=self.std_ddof,
            protocol=self.protocol,
        )
