"""Retraining pipelines: a YAML file of stages, run as one resumable job of child runs."""
