"""The model registry: every model a user keeps, as versions with lineage and a stage."""
