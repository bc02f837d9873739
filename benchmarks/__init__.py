"""AttnGAN benchmarks (``python benchmarks/run.py``; see ``benchmarks/README.md``).

- ``cases``: what is measured: the variants, the benchmarked configurations, one :class:`~benchmarks.cases.Case`
  per measurement;
- ``plan``: a run's cases in interleaved rounds, the variants left out, the loss-parity cases;
- ``workspace``: composed configs, the synthetic CUB tree and random-weight DAMSM checkpoints a run needs;
- ``meters``: timers, peak memory, FLOP counting (torch only);
- ``machine``: what the machine is and can do (CPU model, steal time, measured matmul peaks);
- ``measure``: running one case (a training step, generation, data loading), in this process or a fresh one;
- ``report``: results from measurements (medians, ratios against the baseline, utilisation), parity, the table;
- ``run``: the command line;
- ``bench_damsm_loss``: the batched DAMSM word-level scores against Python loops (its own script).
"""
