"""Training platform: experiment YAMLs, PPO on RLlib, curriculum, checkpoints (ray / torch layer)."""
