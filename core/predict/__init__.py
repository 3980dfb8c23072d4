"""Predictions with a finished training run's model: input parsing (pure Python) and the job."""
