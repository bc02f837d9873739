"""AttnGAN benchmarks: scripts that compare configurations side by side (see docs/performance.md)."""
