"""How each kind of data becomes a trainable problem: one module per input kind.

Each module's `prepare(spec, loaded, reporter)` returns a `Prepared`: the preprocessing model
(raw inputs -> network inputs, CPU side), tf.data pipelines for training and validation, raw test
inputs for the end-to-end model, and the contract that every export carries.
"""
