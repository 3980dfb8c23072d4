"""Model export: Keras, SavedModel, TFLite, each checked against the Keras model."""
