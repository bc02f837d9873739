"""attngan-import-original: released files -> one checkpoint that the pipeline, eval and training accept."""

from __future__ import annotations

import pickle

import pytest
import torch
from test_compat import (
    _release_image_encoder_table_and_state,
    fill,
    release_generator_table,
    release_text_encoder_table,
)

from attngan.compat import export_original_generator
from attngan.errors import ConfigError
from attngan.lit import AttnGANModule, load_damsm
from attngan.pipeline import AttnGANPipeline
from helpers.cli import run_in_process

WORDS = ["<end>", "a", "small", "red", "bird", "with", "black", "wings"]


@pytest.fixture(scope="module")
def release_files(tmp_path_factory):
    root = tmp_path_factory.mktemp("release")
    ixtoword = dict(enumerate(WORDS))
    wordtoix = {w: i for i, w in ixtoword.items()}
    with (root / "captions.pickle").open("wb") as handle:
        pickle.dump([[[1, 2, 3, 4]], [[4, 5, 6, 7]], ixtoword, wordtoix], handle, protocol=2)
    torch.save(fill(release_text_encoder_table(vocab_size=len(WORDS)), seed=3), root / "text_encoder200.pth")
    torch.save(_release_image_encoder_table_and_state(256), root / "image_encoder200.pth")
    generator_state = fill(release_generator_table(ngf=2, r_num=1, branch_num=2), seed=4)
    torch.save(generator_state, root / "netG.pth")
    return root, generator_state


def run_import(root, output, *extra: str):
    from attngan.cli.import_original import main

    main(
        [
            f"captions={root / 'captions.pickle'}",
            f"text_encoder={root / 'text_encoder200.pth'}",
            f"output={output}",
            *extra,
        ]
    )


def test_imported_generator_checkpoint_feeds_the_pipeline(release_files, tmp_path):
    root, generator_state = release_files
    output = tmp_path / "release.ckpt"
    run_import(
        root, output, f"generator={root / 'netG.pth'}", f"image_encoder={root / 'image_encoder200.pth'}"
    )
    pipe = AttnGANPipeline.from_checkpoint(output)
    assert pipe.generator.legacy_attention_mask  # computes what the release computed
    assert pipe.vocab.to_list()[1:] == WORDS[1:]
    exported = export_original_generator(pipe.generator)
    assert set(generator_state) <= set(exported)  # + num_batches_tracked, which PyTorch 0.3 files lack
    assert all(torch.equal(exported[k], generator_state[k]) for k in generator_state)
    result = pipe(["a small red bird"], seed=1)
    assert result.images[0].size == (128, 128)
    assert result.tokens == [["a", "small", "red", "bird"]]
    assert pipe.image_encoder is not None


def test_imported_encoders_make_a_damsm_checkpoint_and_init_from_loads_the_generator(release_files, tmp_path):
    root, generator_state = release_files
    damsm = tmp_path / "damsm.ckpt"
    run_import(root, damsm, f"image_encoder={root / 'image_encoder200.pth'}")
    bundle = load_damsm(damsm)
    assert bundle.vocab.to_list()[1:] == WORDS[1:]
    gan = tmp_path / "gan.ckpt"
    run_import(root, gan, f"generator={root / 'netG.pth'}")
    module = AttnGANModule(
        vocab=bundle.vocab.to_list(),
        damsm_checkpoint=str(damsm),
        generator={"num_stages": 2, "ngf": 2, "num_residual": 1},
        discriminator={"ndf": 4},
        init_from=str(gan),
    )
    exported = export_original_generator(module.generator)
    assert all(torch.equal(exported[k], generator_state[k]) for k in generator_state)


def test_import_needs_more_than_a_text_encoder(release_files, tmp_path):
    root, _ = release_files
    from attngan.compat import load_original_models
    from attngan.compat.convert import write_release_checkpoint

    models = load_original_models(root / "captions.pickle", root / "text_encoder200.pth")
    with pytest.raises(ConfigError, match="generator"):
        write_release_checkpoint(models, tmp_path / "x.ckpt")


def test_import_errors_have_no_traceback(release_files, tmp_path):
    # in-process: an escaping exception fails the test; tests/cli/test_cli_errors.py proves the installed wiring
    root, _ = release_files
    proc = run_in_process(
        [
            "attngan-import-original",
            f"captions={root / 'captions.pickle'}",
            f"text_encoder={root / 'text_encoder200.pth'}",
            f"generator={root / 'netG.pth'}",
            "num_stages=3",
            f"output={tmp_path / 'x.ckpt'}",
        ],
        tmp_path,
    )
    assert proc.returncode != 0
    assert "num_stages" in proc.stderr and "Traceback" not in proc.stderr
