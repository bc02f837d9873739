"""The LightningDataModule: one class for every dataset, which takes a reader (:mod:`attngan.data.readers`).

Every ``conf/data/*.yaml`` targets :class:`CaptionDataModule`; its ``name`` picks the reader from
:data:`attngan.data.readers.READERS`. ``ShapesDataModule`` / ``FolderDataModule`` are shorthands for Python
callers (the quick-start notebook).
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import weakref
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import DataLoader

from attngan.data.captions import dataset_vocabulary, encode_splits
from attngan.data.dataset import ON_BAD_SAMPLE, CaptionImageDataset, collate_captions, read_bad_log
from attngan.data.images import RELEASE_RESIZE_RATIO, MultiScaleTransform
from attngan.data.loader import CaptionDataLoader, EpochSampler, ResumableDataLoader, seed_worker
from attngan.data.readers import DatasetReader, make_reader
from attngan.data.records import SPLITS, UNKNOWN_WORDS, DatasetIndex, Problem, load_bad_manifest
from attngan.errors import BadSampleError, ConfigError, DataError
from attngan.text.vocabulary import Vocabulary

log = logging.getLogger(__name__)
_SHOWN = 10  # problems listed in a log message before "... and N more"
# the settings a reader may choose a default for (DatasetReader.loading_defaults), and the fallbacks
_LOADING_DEFAULTS = {"max_words": 18, "resize_ratio": RELEASE_RESIZE_RATIO, "random_flip": True}


def _listing(problems: Sequence[Problem]) -> str:
    lines = [f"  - {p}" for p in problems[:_SHOWN]]
    if len(problems) > _SHOWN:
        lines.append(f"  ... and {len(problems) - _SHOWN} more (attngan-data check lists them all)")
    return "\n".join(lines)


class CaptionDataModule(L.LightningDataModule):
    """Image-caption batches of any dataset: a reader finds the files, this class loads them.

    Batches follow the contract of docs/ARCHITECTURE.md: ``images`` (one ``(B, 3, s, s)`` tensor per size,
    in [-1, 1]), ``captions`` ``(B, max_words)``, ``lengths``, ``class_ids``, ``keys``, ``texts``. Training
    picks a random caption per image per epoch, crops randomly and flips (``drop_last``); evaluation
    (``val_dataloader``/``test_dataloader``, both on the test split) is deterministic.

    Bad samples: with ``on_bad_sample="error"`` the first one raises :class:`BadSampleError` (also from a
    DataLoader worker, as the same one-message error); with ``"skip"`` the ones found while indexing
    (missing, zero-byte, no captions, listed in ``bad_manifest``) are left out at setup, and images that
    fail to decode during an epoch are replaced by the next readable image. Both are listed by
    :attr:`bad_samples` and :meth:`report_bad_samples`.

    Args:
        name: the dataset (``data.name``): its reader, a key of :data:`attngan.data.readers.READERS`.
        reader: a ready reader to use instead of building one from ``name`` and ``reader_options``.
        image_sizes: increasing image sizes of a batch (``${model.image_sizes}``).
        batch_size: training batch size.
        eval_batch_size: evaluation batch size (default: ``batch_size``).
        num_workers: DataLoader worker processes.
        pin_memory: pin batches in memory; ``None``: when CUDA is available.
        persistent_workers: keep workers between epochs; ``None``: when ``num_workers > 0``.
        max_words: T, the caption length of a batch (``None``: the dataset's default, else 18).
        on_bad_sample: ``"error"`` or ``"skip"``.
        seed: seed of the training order, caption choice, word subsets, crops and flips.
        cache_dir: where derived files (the built vocabulary, generated shapes) are cached.
        bad_manifest: a JSON manifest from ``attngan-data check``; its bad samples are left out.
        resize_ratio: resize to ``max(image_sizes) * resize_ratio`` before cropping (``None``: the dataset's
            default, else the release's 76/64).
        random_flip: flip training images horizontally at random (``None``: the dataset's default, else yes).
        caption_index: the caption evaluation batches use.
        vocab: a vocabulary to enforce (e.g. a DAMSM checkpoint's), a path to a vocabulary JSON, or a word
            list in id order; ``None``: the dataset's own.
        **reader_options: the reader's options (``root``, ``captions_per_image``, and the dataset's own, such
            as ``num_images`` or ``crop_to_bbox``); an option the reader does not take is a
            :class:`ConfigError` naming it.
    """

    @staticmethod
    def accepted_keys(node: Mapping[str, Any]) -> list[str] | None:
        """The keys a ``data`` config node may hold (the loading keys and its reader's options): the config
        checks ask here because ``**reader_options`` hides them from the signature; None: unknown dataset."""
        from attngan.data.readers import READERS, data_keys

        name = node.get("name")
        return data_keys(str(name)) if name in READERS else None

    def __init__(
        self,
        name: str | None = None,
        reader: DatasetReader | None = None,
        image_sizes: Sequence[int] = (64, 128, 256),
        batch_size: int = 16,
        eval_batch_size: int | None = None,
        num_workers: int = 0,
        pin_memory: bool | None = None,
        persistent_workers: bool | None = None,
        max_words: int | None = None,
        on_bad_sample: str = "error",
        seed: int = 0,
        cache_dir: str | Path | None = None,
        bad_manifest: str | Path | None = None,
        resize_ratio: float | None = None,
        random_flip: bool | None = None,
        caption_index: int = 0,
        vocab: Vocabulary | str | Path | Sequence[str] | None = None,
        **reader_options: Any,
    ) -> None:
        super().__init__()
        self.reader = self._make_reader(name, reader, cache_dir, reader_options)
        self.dataset_name = self.reader.name
        if on_bad_sample not in ON_BAD_SAMPLE:
            raise ConfigError(f"data.on_bad_sample must be one of {ON_BAD_SAMPLE}, got {on_bad_sample!r}.")
        settings = {**_LOADING_DEFAULTS, **self.reader.loading_defaults}
        max_words = settings["max_words"] if max_words is None else max_words
        if int(batch_size) < 1 or int(max_words) < 1 or int(num_workers) < 0:
            raise ConfigError(
                f"data.batch_size and data.max_words must be >= 1 and data.num_workers >= 0; got {batch_size}, "
                f"{max_words}, {num_workers}."
            )
        self.root = self.reader.root
        self.transform = MultiScaleTransform(  # validates the sizes
            list(image_sizes),
            settings["resize_ratio"] if resize_ratio is None else resize_ratio,
            settings["random_flip"] if random_flip is None else random_flip,
        )
        self.image_sizes = self.transform.image_sizes
        self.batch_size = int(batch_size)
        self.eval_batch_size = int(eval_batch_size or batch_size)
        self.num_workers = int(num_workers)
        self.pin_memory = torch.cuda.is_available() if pin_memory is None else bool(pin_memory)
        self.persistent_workers = (
            (self.num_workers > 0) if persistent_workers is None else bool(persistent_workers)
        )
        self.captions_per_image = self.reader.captions_per_image
        self.max_words = int(max_words)
        self.on_bad_sample = on_bad_sample
        self.seed = int(seed)
        self.cache_dir = cache_dir
        self.bad_manifest = bad_manifest
        self.caption_index = int(caption_index)
        self.save_hyperparameters(ignore=["vocab", "reader"], logger=False)

        self._given_vocab = self._as_vocabulary(vocab)
        self._index: DatasetIndex | None = None
        self.vocab: Vocabulary | None = None
        self.vocab_source: str | None = None
        self.num_classes: int | None = None
        self.train_dataset: CaptionImageDataset | None = None
        self.val_dataset: CaptionImageDataset | None = None
        self.warnings: list[Problem] = []
        self._setup_bad: list[Problem] = []
        self._reported: set[tuple[str | None, str]] = set()
        # skipped images are logged to files, so that DataLoader worker processes can report them too
        self._bad_log_dir: str | None = None
        if on_bad_sample == "skip":
            self._bad_log_dir = tempfile.mkdtemp(prefix="attngan-bad-samples-")
            weakref.finalize(self, shutil.rmtree, self._bad_log_dir, True)

    # ------------------------------------------------------------------ reading
    def _make_reader(
        self,
        name: str | None,
        reader: DatasetReader | None,
        cache_dir: str | Path | None,
        options: dict[str, Any],
    ) -> DatasetReader:
        if reader is not None:
            if options:
                raise ConfigError(
                    f"CaptionDataModule got a ready {reader.name} reader and also the reader options "
                    f"{', '.join(sorted(options))}: configure the reader itself, or pass its options instead."
                )
            if name is not None and name != reader.name:
                raise ConfigError(f"data.name={name!r} does not match the given {reader.name} reader.")
            return reader
        if name is None:
            raise ConfigError("data.name is missing: pick a dataset config with data=shapes|folder|cub|coco.")
        return make_reader(name, options, cache_dir=cache_dir)

    def prepare_data(self) -> None:
        """Nothing to download, ever; a generated dataset (shapes) is generated here (rank 0) if allowed."""
        self.reader.prepare()

    def setup(self, stage: str | None = None) -> None:
        """Index the dataset, apply the bad-sample policy, choose the vocabulary and build the datasets."""
        if self._index is not None:
            return
        index = self.reader.build_index()
        self.root = index.root
        # the vocabulary comes from every indexed caption, before the manifest leaves samples out, so that
        # it is the same with and without a manifest (and the same as attngan-data check reports)
        if self._given_vocab is not None:
            self.vocab, self.vocab_source = self._given_vocab, "given"
        else:
            self.vocab, self.vocab_source = dataset_vocabulary(index, self.cache_dir)
        self._drop_manifest_keys(index)
        self.num_classes = index.num_classes
        self._build_datasets(index)
        self._index = index  # set up: later calls return at once
        if self.warnings:
            log.warning(
                "%s dataset at %s: %d warnings:\n%s",
                self.dataset_name,
                self.root,
                len(self.warnings),
                _listing(self.warnings),
            )
        if not self.train_dataset:
            raise DataError(f"The {self.dataset_name} dataset at {self.root} has no usable training image.")
        log.info(
            "%s dataset: %d train / %d test images, vocabulary of %d ids from %s",
            self.dataset_name,
            len(self.train_dataset),
            len(self.val_dataset or []),
            len(self.vocab),
            self.vocab_source,
        )

    def _drop_manifest_keys(self, index: DatasetIndex) -> None:
        skip = load_bad_manifest(self.bad_manifest)
        if not skip:
            return
        index.problems = [p for p in index.problems if p.key not in skip]
        for split in SPLITS:
            before = index.splits.get(split, [])
            index.splits[split] = [r for r in before if r.key not in skip]
            dropped = len(before) - len(index.splits[split])
            if dropped:
                log.info("Left out %d %s images listed in %s", dropped, split, self.bad_manifest)

    def _build_datasets(self, index: DatasetIndex) -> None:
        """Encode the captions with ``self.vocab``, apply the bad-sample policy, build both datasets."""
        assert self.vocab is not None
        encoded, found = encode_splits(index, self.vocab)
        problems = index.problems + found
        self.warnings = [p for p in problems if not p.is_bad]
        datasets = {
            split: self.reader.make_dataset(
                self.vocab,
                records=records,
                caption_ids=ids,
                transform=self.transform,
                max_words=self.max_words,
                train=split == "train",
                seed=self.seed,
                on_bad_sample=self.on_bad_sample,
                caption_index=self.caption_index,
                split=split,
                bad_log_dir=self._bad_log_dir,
            )
            for split, (records, ids) in encoded.items()
        }
        self._apply_policy([p for p in problems if p.is_bad])
        self.train_dataset, self.val_dataset = datasets["train"], datasets["test"]

    def _apply_policy(self, bad: list[Problem]) -> None:
        if not bad:
            return
        if self.on_bad_sample == "error":
            first = bad[0]
            more = f"; {len(bad) - 1} more bad samples" if len(bad) > 1 else ""
            raise BadSampleError(
                first.path, f"{first.kind}" + (f" ({first.detail})" if first.detail else "") + more
            )
        self._setup_bad = list(bad)
        log.warning(
            "Left out %d bad samples of the %s dataset (data.on_bad_sample=skip):\n%s",
            len(bad),
            self.dataset_name,
            _listing(bad),
        )

    # ------------------------------------------------------------------ vocabulary
    @staticmethod
    def _as_vocabulary(vocab: Vocabulary | str | Path | Sequence[str] | None) -> Vocabulary | None:
        if vocab is None or isinstance(vocab, Vocabulary):
            return vocab
        if isinstance(vocab, (str, Path)):
            return Vocabulary.load(vocab)
        return Vocabulary.from_list(list(vocab))

    def set_vocabulary(self, vocab: Vocabulary | str | Path | Sequence[str]) -> None:
        """Use ``vocab`` (e.g. the DAMSM checkpoint's) instead of the dataset's; re-encodes after setup.

        Caption words missing from it are left out of the ids and reported as a warning.
        """
        self._given_vocab = self._as_vocabulary(vocab)
        if self._index is not None:
            self.vocab, self.vocab_source = self._given_vocab, "given"
            self._build_datasets(self._index)
            unknown = [p for p in self.warnings if p.kind == UNKNOWN_WORDS]
            if unknown:
                log.warning("With the given vocabulary:\n%s", _listing(unknown))

    def state_dict(self) -> dict[str, Any]:
        """Saved in Lightning checkpoints: the vocabulary, so a resumed run encodes captions the same way."""
        return {"vocab": self.vocab.to_list()} if self.vocab is not None else {}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if state_dict.get("vocab"):
            self.set_vocabulary(state_dict["vocab"])

    # ------------------------------------------------------------------ bad samples
    @property
    def bad_samples(self) -> list[Problem]:
        """Every sample left out so far: at setup, and during epochs (from every worker)."""
        return self._setup_bad + (read_bad_log(self._bad_log_dir) if self._bad_log_dir else [])

    def report_bad_samples(self) -> list[Problem]:
        """The bad samples found since the last call, logged as a warning (each once); the ``BadSampleReport``
        callback calls it at the end of every epoch."""
        new = [p for p in self.bad_samples if (p.split, p.path) not in self._reported]
        self._reported.update((p.split, p.path) for p in new)
        if new:
            log.warning(
                "%d bad samples were skipped (data.on_bad_sample=skip); %d in total so far:\n%s",
                len(new),
                len(self._reported),
                _listing(new),
            )
        return new

    # ------------------------------------------------------------------ loaders
    def _loader(self, dataset: CaptionImageDataset | None, train: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError("Call setup() before asking for a dataloader.")
        batch_size = self.batch_size if train else self.eval_batch_size
        if train and len(dataset) < batch_size:
            raise ConfigError(
                f"data.batch_size={batch_size} is larger than the {len(dataset)} training images of {self.root}; "
                "training drops incomplete batches, so no batch would be made. Lower data.batch_size."
            )
        # the training loader's place in the epoch goes into checkpoints: an exact mid-epoch resume
        loader_cls = ResumableDataLoader if train else CaptionDataLoader
        return loader_cls(
            dataset,
            batch_size=batch_size,
            sampler=EpochSampler(len(dataset), self.seed, shuffle=True) if train else None,
            shuffle=False,
            drop_last=train,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            persistent_workers=self.persistent_workers and self.num_workers > 0,
            collate_fn=collate_captions,
            worker_init_fn=seed_worker if self.num_workers > 0 else None,
            generator=torch.Generator().manual_seed(self.seed),
        )

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_dataset, train=True)

    def val_dataloader(self) -> DataLoader:
        return self._loader(self.val_dataset, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.val_dataset, train=False)


def ShapesDataModule(**options: Any) -> CaptionDataModule:
    """``CaptionDataModule(name="shapes", ...)``: the built-in shapes (options: ``ShapesReader``)."""
    return CaptionDataModule(name="shapes", **options)


def FolderDataModule(**options: Any) -> CaptionDataModule:
    """``CaptionDataModule(name="folder", ...)``: your own data (options: ``FolderReader``)."""
    return CaptionDataModule(name="folder", **options)
