"""The dashboard: a Streamlit app with Plotly charts over the project's simulator, evaluation runner and results.

Four modes (sidebar): Live Simulation, Strategy Comparison, Deep Analysis, Portfolio View. Start it with
``make dashboard`` or ``almm dashboard [--results DIR] [--port N] [--host HOST]`` (``python -m
almm_rllib.dashboard``); it serves on localhost:8501 unless told otherwise, and reads run folders and
checkpoints under its results directory only.

The page (:mod:`.app`) is thin: what it shows comes from plain functions that tests call directly:

* :mod:`.paths`: the results directory, run folders and checkpoints under it, refusal of paths outside it;
* :mod:`.markets`: the market presets and the mapping of the page's parameters onto an ``EnvConfig``;
* :mod:`.live`: a live session (start, pause, single step, reset, speed) over ``evaluation.LiveEpisode``;
* :mod:`.runs`: comparison runs through ``evaluation.evaluate``, and the tables and series of a run folder
  for the comparison, deep-analysis and portfolio modes (figures from ``almm_rllib.results``);
* :mod:`.figures`: the Plotly figures.

Layer 5: it may import every package below it; nothing imports it.
"""
