"""TF Studio engine: pure Python, never imports streamlit; imports TensorFlow only inside jobs."""
