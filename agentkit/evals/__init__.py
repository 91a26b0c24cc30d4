"""The release gate's library: drive the DR advisor for promptfoo, summarise and compare results.

- :mod:`agentkit.evals.driver`: what ``evals/provider.py`` calls (one warm advisor per worker).
- :mod:`agentkit.evals.summary`: ``results.json`` -> a summary per suite, known failures, baselines.
- :mod:`agentkit.evals.runner`: install promptfoo, start the emulator, run the suites.
"""
