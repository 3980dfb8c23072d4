"""Training jobs (TensorFlow is imported inside the functions, in worker processes)."""
