"""Short help texts for the decisions a newcomer meets, defined once (no TensorFlow, no UI).

Pages pass them as `help=` on their controls; the CLI and docs may quote them. Each says what
the setting does and how to choose, in a sentence or two; defaults are named where they matter.
"""

from __future__ import annotations

HELP: dict[str, str] = {
    # -- training ---------------------------------------------------------------------------
    "split": "How rows are divided into training, validation and test sets. auto: stratified "
    "for classes (each set keeps the class shares), in time order for series (no peeking at "
    "the future), otherwise random.",
    "validation_fraction": "Share of rows held out to watch while training: it shows when the "
    "model stops improving and picks the best epoch. With refit on, the final model then "
    "trains on them too.",
    "test_fraction": "Share of rows kept untouched until the end, for one honest score on data "
    "the model has never seen. Never used to choose settings.",
    "epochs": "One epoch is one pass over the training rows. Too few and the model underfits; "
    "too many and it memorises the training rows (validation loss starts rising).",
    "batch_size": "Rows per training step. Larger batches run faster per row but update the "
    "weights less often; 32 suits small tables.",
    "learning_rate": "How big a step the optimizer takes on each update. Too high and the loss "
    "jumps around or diverges; too low and training crawls. 0.001 to 0.01 suits Adam.",
    "schedule": "How the learning rate changes over training. constant: the same throughout; "
    "cosine: glides down to zero by the last epoch; exponential: shrinks by 10% each epoch. "
    "Decaying helps the model settle at the end.",
    "early_stopping": "Stop when validation loss has not improved for this many epochs, and keep "
    "the best epoch's weights. Guards against overfitting and saves time; 0 turns it off.",
    "refit": "Once validation has chosen how many epochs to train, train the final model again "
    "on the training and validation rows together, so it learns from every row but the test "
    "split. Off: keep the model trained on the training rows alone.",
    "class_weights": "balanced: mistakes on rare classes cost more, in inverse proportion to how "
    "often each class appears. Use it when one class dominates the target.",
    "dropout": "Share of a layer's outputs randomly switched off during training, so the model "
    "cannot rely on any single unit. Reduces overfitting; 0 turns it off.",
    "optimizer": "The rule that updates the weights from the gradients. adam adapts the step "
    "per weight and is a safe default; sgd with momentum is simpler and sometimes generalises "
    "better.",
    # -- tuning -----------------------------------------------------------------------------
    "tuner": "How the search picks the next settings to try.",
    "tuner.random": "Random search: each trial draws settings at random. Simple, surprisingly "
    "strong, and every trial is independent.",
    "tuner.grid": "Grid search: tries every combination of the listed values in order. Only "
    "practical for a few choices.",
    "tuner.hyperband": "Hyperband: trains many trials for a few epochs, then keeps training only "
    "the best third, and so on. Most settings for the time spent.",
    "tuner.bayesian": "Bayesian optimisation: models how the score depends on the settings from "
    "the trials so far and tries the most promising next. Best when trials are expensive.",
    "tuner.greedy": "AutoKeras greedy: starts from a good known architecture and changes one "
    "part at a time, keeping what helps.",
    "max_trials": "How many different settings the search tries. More trials find better "
    "settings but take proportionally longer.",
    "objective": "The validation metric the search ranks trials by (val_loss: lower is better; "
    "val_accuracy: higher is better).",
    # -- compression ------------------------------------------------------------------------
    "compress.method": "How to make the model smaller or faster; each variant is measured on "
    "the test split beside the float TFLite model.",
    "compress.dynamic": "Dynamic-range quantization: weights stored as 8-bit integers, "
    "activations computed in float. About 4x smaller weights, no data needed.",
    "compress.float16": "Float16 quantization: weights stored as 16-bit floats. Half the size, "
    "almost no accuracy change; fast on GPUs.",
    "compress.int8": "Full-integer quantization: weights and activations as 8-bit integers, "
    "calibrated on representative rows. About 4x smaller and fastest on CPUs and edge chips.",
    "compress.prune": "Pruning: fine-tunes the model while setting the smallest weights to zero. "
    "The file only shrinks once zipped (zeros compress well).",
    "compress.cluster": "Weight clustering: fine-tunes so each layer's weights share a few "
    "distinct values. The file only shrinks once zipped.",
    "compress.qat": "Quantization-aware training: fine-tunes with int8 rounding simulated, so "
    "the model learns to tolerate it. Recovers accuracy int8 alone loses.",
    "compress.prune+int8": "Pruning, then full-integer quantization: both savings together.",
    "compress.cluster+int8": "Clustering, then full-integer quantization: both savings together.",
    "compress.pqat": "Pruning, then quantization-aware training that keeps the zeros.",
    "compress.cqat": "Clustering, then quantization-aware training that keeps the clusters.",
    "sparsity": "Pruning's target share of weights set to zero (0.5 = half). Higher saves more "
    "but costs accuracy; 0.5 to 0.8 is typical.",
    "prune_schedule": "polynomial: the share of zeros rises gradually to the target during "
    "fine-tuning (gentler); constant: the target from the first step.",
    "clusters": "Distinct weight values per layer after clustering. Fewer clusters compress "
    "better but cost accuracy; 16 is a common start.",
    "centroids": "Where clustering starts its values: kmeans++ (spread by the data), linear "
    "(evenly between min and max), density, or random.",
    "representative_data": "int8 needs example inputs to measure the range of every activation; "
    "a few hundred rows from the training split are used (never test rows).",
    "int8_io": "Also make the model's inputs and outputs int8, for microcontrollers and "
    "accelerators that take no floats. The app converts to and from int8 around it.",
    "compress.epochs": "Fine-tuning epochs for pruning, clustering and QAT, which retrain "
    "briefly to recover accuracy.",
    # -- export -----------------------------------------------------------------------------
    "export.formats": "Which files to write. Each is loaded back by its own runtime and compared "
    "with the Keras model on test rows (a parity check).",
    "export.keras": "Keras (.keras): the full model for Python and more training.",
    "export.savedmodel": "SavedModel: TensorFlow's language-neutral format, what TF Serving "
    "loads to answer REST requests.",
    "export.tflite": "TFLite (.tflite): a compact file for Android, iOS, Raspberry Pi and other "
    "edge devices, run by the LiteRT interpreter.",
    "export.tfjs": "TF.js: a graph model that runs in a web browser or Node.js; the bundle "
    "includes a page that loads it offline.",
    "export.micro": "C array: the TFLite file as C++ source for microcontrollers (TFLite Micro), "
    "checked with the real TFLM interpreter.",
    "export.quantize": "TF.js weight quantization: uint8 makes the download about 4x smaller, "
    "float16 2x, with small differences in the outputs.",
    # -- choosing what to train -----------------------------------------------------------
    "target": "The column the model learns to predict from the other columns. Its values decide "
    "the task: categories make it classification, numbers regression.",
    "task": "What kind of prediction. auto reads it from the data: images give image "
    "classification, text gives text classification, a category target classification, numbers "
    "regression, a time column forecasting.",
    "model": "The network to train. mlp (a few dense layers) suits tables; the Models page "
    "describes each one, what it is for and its hyperparameters.",
    "seed": "Fixes the random choices (the split, the first weights, the shuffling), so a rerun "
    "gives the same result. Change it to see how much a result owes to chance.",
    "bucketize": "Numeric columns to cut into quantile bins (a Discretization layer) instead of "
    "scaling them (Normalization): a small model then learns thresholds easily. The layer is "
    "part of the model, so every export bins the same way.",
    "window": "How many past time steps the model sees for one prediction.",
    "horizon": "How many steps after the window the model predicts (1: the next step).",
    "stride": "Steps between the starts of two training windows: 1 uses every window; larger "
    "gives fewer, less overlapping examples.",
    "features": "Other numeric columns the model sees over the window, beside the target's own "
    "past values.",
    "max_tokens": "How many distinct words the TextVectorization layer keeps (the most "
    "frequent); rarer words share one 'unknown' token.",
    "sequence_length": "Each text is cut or padded to this many tokens: longer keeps more of "
    "long texts and costs time.",
    "image_size": "Images are resized to this many pixels a side before the network: larger "
    "keeps detail and trains slower.",
    "fine_tune_epochs": "Transfer learning trains a new head on a frozen pretrained backbone "
    "first; these epochs then also train the top backbone layers at a low learning rate. 0 "
    "skips fine-tuning.",
    "mixed_precision": "Computes in float16 where it is safe and keeps the weights in float32: "
    "faster on GPUs with tensor cores, no gain on a CPU.",
    "workers": "How many devices (mirrored) or worker processes (multi-worker, parameter "
    "server) share each batch, through a tf.distribute strategy.",
    # -- search engines -----------------------------------------------------------------------
    "engine": "KerasTuner searches the hyperparameters of a model you choose (units, dropout, "
    "learning rate); AutoKeras also searches the architecture itself and exports the best "
    "model.",
    "hyperband_factor": "Each Hyperband round keeps the best 1/factor of its trials and trains "
    "them factor times longer; 3 is KerasTuner's default.",
    # -- profiling ----------------------------------------------------------------------------
    "profile.mode": "training steps: what fit() spends each step on (input, forward, backward, "
    "optimizer update); inference batches: what predict() spends, as a server would run it.",
    "prefetch": "tf.data prefetch prepares the next batches while the model works on the "
    "current one (auto lets tf.data size the buffer, a number fixes it); off shows what it saves.",
    "cache": "tf.data cache keeps the preprocessed batches in memory after the first epoch, so "
    "later epochs skip reading and preprocessing.",
    # -- registry and pipelines -------------------------------------------------------------
    "stage": "candidate: a version to try; production: the one in use (promoting one archives "
    "the previous); archived: kept for its lineage.",
    "pipeline.mode": "append: retrain on the production data plus the new rows; replace: on the "
    "new rows only (when old data no longer applies).",
    "pipeline.learner": "train: one training run with the settings in the file; tune: a "
    "hyperparameter search, whose best trial is the challenger.",
    "pipeline.metric": "The test metric the challenger and the production model are compared "
    "on, on the same held-out rows.",
    "pipeline.margin": "The challenger is pushed only when it beats production by more than "
    "this; 0 pushes any improvement.",
    # -- data validation (drift) ------------------------------------------------------------
    "drift": "Whether new data looks like the data the model was trained on.",
    "drift.psi": "Population stability index, for numeric columns: compares the share of rows in "
    "10 bins of the training data. Under 0.1 little change, 0.1 to 0.25 some, above 0.25 a "
    "large shift.",
    "drift.ks": "Kolmogorov-Smirnov test, for numeric columns: the largest gap between the two "
    "cumulative distributions; a small p-value means the difference is not chance.",
    "drift.linf": "L-infinity distance, for category columns: the largest change in any "
    "category's share (0.2 = one category's share moved by 20 points), as TFDV measures it.",
    "severity": "How serious an anomaly must be to stop the pipeline before training: high "
    "stops only on clear problems, low on any.",
}


def help_text(key: str) -> str:
    """The help for `key`; KeyError names the key, so a typo fails in tests, not silently."""
    return HELP[key]


def choice_help(prefix: str, choices: list[str] | tuple[str, ...]) -> str:
    """One help text listing each choice's explanation (for a select box's `help=`)."""
    head = HELP.get(prefix, "")
    lines = [f"**{c}**: {HELP[f'{prefix}.{c}']}" for c in choices if f"{prefix}.{c}" in HELP]
    return "\n\n".join([head, *lines]) if head else "\n\n".join(lines)
