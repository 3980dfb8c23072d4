"""The model catalog: what can be built, described without importing TensorFlow."""
