"""A local REST server that speaks TF Serving's REST API for a run's SavedModel."""
