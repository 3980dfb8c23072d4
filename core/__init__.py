"""TF Studio engine: pure Python, never imports streamlit; TensorFlow is imported lazily inside jobs."""
