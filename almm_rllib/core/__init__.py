"""Core layer: numpy + numba only (book, order flow, latent price, latency, impact, accounting, step kernel).

Nothing in this package may import gymnasium, ray, torch, pandas or any upper layer of almm_rllib; a test
enforces it.
"""
