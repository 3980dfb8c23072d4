"""The model server's default port, in a module that imports nothing (the CLI reads it when it
builds its parser, and listing commands must stay light)."""

# TF Serving's REST port is 8501, which is also Streamlit's (the app's), so ours is 8601; the page
# proposes the first free one from here.
SERVE_PORT = 8601
