"""LightningModules and training plumbing: DAMSM pre-training, AttnGAN training, EMA, checkpoints."""

from attngan.lit.attngan_module import AttnGANModule
from attngan.lit.damsm_module import DAMSMBundle, DAMSMModule, load_damsm

__all__ = ["AttnGANModule", "DAMSMBundle", "DAMSMModule", "load_damsm"]
