"""The Streamlit UI: services, render_* components and the app entry point (never imports TF)."""
