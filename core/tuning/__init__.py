"""Hyperparameter search: KerasTuner over catalog models, AutoKeras, and their trial records."""
