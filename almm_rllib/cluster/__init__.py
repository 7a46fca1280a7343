"""Cluster helpers (rank 5): a local multi-node Ray cluster on one machine and ``ray job submit`` of experiments.

* :mod:`almm_rllib.cluster.local`: ``python -m almm_rllib.cluster.local up|down|status`` starts a head and a
  ``cpu_worker`` node with their own ports and temp dirs, records the process ids it started and stops exactly
  those process trees by id (never ``ray stop``, which kills every Ray process on the machine).
* :mod:`almm_rllib.cluster.submit`: ``python -m almm_rllib.cluster.submit EXPERIMENT.yaml --address http://...``
  runs ``ray job submit ... -- almm train EXPERIMENT`` with the repository as the working dir, follows the logs
  and exits with the job's status.

Both speak Ray 2.60's token authentication; see ``cluster/README.md`` for the cloud side.
"""
