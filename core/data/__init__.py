"""Data sources, checks and schema inference (pandas only; no TensorFlow here)."""
