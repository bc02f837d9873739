"""The loaders of the data module: mid-epoch resume (batches counted, replayed, skipped) without Lightning."""

from __future__ import annotations

from torch.utils.data import Dataset

from attngan.data.loader import EpochSampler, ResumableDataLoader


class _Seeds(Dataset):
    """Item ``(index, sample_seed)`` -> that pair, so a batch shows the order and every seed drawn."""

    def __len__(self) -> int:
        return 10

    def __getitem__(self, item: tuple[int, int]) -> tuple[int, int]:
        return item


def _loader() -> ResumableDataLoader:
    return ResumableDataLoader(_Seeds(), batch_size=3, sampler=EpochSampler(10, seed=4), collate_fn=list)


def test_resume_mid_epoch_delivers_the_rest_of_the_interrupted_epoch():
    straight = _loader()
    straight.sampler.set_epoch(2)
    batches = list(straight)
    assert straight.state_dict() == {"batches_done": 4} and len(batches) == 4

    interrupted = _loader()
    interrupted.sampler.set_epoch(2)
    iterator = iter(interrupted)
    assert interrupted.state_dict() == {"batches_done": 0}
    assert next(iterator) == batches[0]
    state = interrupted.state_dict()
    assert state == {"batches_done": 1}

    resumed = _loader()
    resumed.load_state_dict(state)
    resumed.sampler.set_epoch(
        2
    )  # Lightning sets the epoch after restoring the loader, before the first batch
    assert list(resumed) == batches[1:]
    assert resumed.state_dict() == {"batches_done": 4}
    resumed.sampler.set_epoch(3)
    assert len(list(resumed)) == 4  # the next epoch starts from its first batch
