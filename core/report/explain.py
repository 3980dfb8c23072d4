"""Plain-language explanations generated from a run's own numbers (no TensorFlow, no I/O).

Every sentence here is computed from the history, evaluation or report it is given: a number it
quotes is one of the run's numbers, and a judgement ("began to overfit") follows from a rule
stated beside it. Nothing is canned: with other numbers, other sentences come out.
"""

from __future__ import annotations

import math
from typing import Any

# Relative change below which a loss counts as flat (noise between epochs on small data).
FLAT = 0.02
# Relative rise of smoothed validation loss above its minimum that counts as overfitting.
RISE = 0.05
LOWER_IS_BETTER = ("loss", "mae", "rmse", "mape", "mse")


def _finite(values: list[Any]) -> list[float]:
    return [float(v) for v in values if v is not None and math.isfinite(float(v))]


def _smooth(values: list[float], k: int = 3) -> list[float]:
    """Trailing moving average, so one noisy epoch does not decide a judgement."""
    return [
        sum(values[max(0, i - k + 1) : i + 1]) / len(values[max(0, i - k + 1) : i + 1])
        for i in range(len(values))
    ]


def _num(v: float) -> str:
    return f"{v:.3g}"


def _pct(v: float) -> str:
    return f"{v:.1%}"


def lower_is_better(metric: str) -> bool:
    return any(metric.endswith(m) or metric == m for m in LOWER_IS_BETTER)


def explain_history(
    history: dict[str, list[Any]], planned_epochs: int | None = None, patience: int = 0
) -> list[str]:
    """What the training curves say: overfitting, still improving, levelled off, diverged."""
    out: list[str] = []
    loss = history.get("loss") or []
    if not loss:
        return out
    bad = next((i for i, v in enumerate(loss) if v is None or not math.isfinite(float(v))), None)
    if bad is not None:
        out.append(
            f"training loss stopped being a number at epoch {bad + 1}: the weights diverged. "
            "A smaller learning rate usually fixes this."
        )
        return out
    loss = [float(v) for v in loss]
    n = len(loss)
    if planned_epochs and n < planned_epochs:
        why = f" because validation loss had not improved for {patience} epochs" if patience else ""
        out.append(f"training stopped after epoch {n} of {planned_epochs}{why}.")
    if n >= 2 and loss[-1] >= loss[0] * (1 - FLAT):
        out.append(
            f"training loss did not fall ({_num(loss[0])} at epoch 1, {_num(loss[-1])} at epoch "
            f"{n}): the model is not learning; try another learning rate or model."
        )
        return out
    val = _finite(history.get("val_loss") or [])
    if len(val) < 3 or len(val) != n:
        if n >= 2:
            out.append(
                f"training loss fell from {_num(loss[0])} to {_num(loss[-1])} over {n} epochs."
            )
        return out
    sv, st = _smooth(val), _smooth(loss)
    best = min(range(n), key=lambda i: sv[i])
    rose = sv[-1] > sv[best] * (1 + RISE) and best <= n - 3
    # Training loss moves judged against its own range over the run, not its (tiny) end value.
    span = (max(st) - min(st)) or 1.0
    train_change = (st[-1] - st[best]) / span
    if rose and train_change <= RISE:
        trend = "kept falling" if train_change < -FLAT else "stayed flat"
        low = min(range(n), key=lambda i: val[i])  # the raw minimum, as the chart marks it
        remedy = (
            f"early stopping kept the weights of epoch {low + 1}, the best on validation."
            if patience and planned_epochs and n < planned_epochs
            else "early stopping, fewer epochs or more dropout would keep the epoch-"
            f"{low + 1} model."
        )
        out.append(
            f"validation loss rose after epoch {low + 1} (from {_num(val[low])} to "
            f"{_num(val[-1])}) while training loss {trend} ({_num(loss[low])} → "
            f"{_num(loss[-1])}): the model began to overfit; {remedy}"
        )
    elif rose:
        out.append(
            f"validation and training loss both rose after epoch {best + 1}: training became "
            "unstable; a smaller learning rate or a decaying schedule would help."
        )
    else:
        k = min(3, n - 1)
        recent = (sv[-1 - k] - sv[-1]) / abs(sv[-1 - k]) if sv[-1 - k] else 0.0
        if recent > FLAT:
            out.append(
                f"validation loss was still falling at the last epoch ({_num(val[-1 - k])} → "
                f"{_num(val[-1])} over the last {k} epochs): more epochs would likely help."
            )
        else:
            lowest = min(val)
            settled = next(i for i in range(n) if val[i] <= lowest * (1 + FLAT))
            out.append(
                f"validation loss levelled off at about {_num(lowest)} from epoch "
                f"{settled + 1}: more epochs of this model would add little."
            )
    for name in ("accuracy", "auc"):
        train_m, val_m = _finite(history.get(name) or []), _finite(history.get(f"val_{name}") or [])
        if train_m and val_m:
            gap = train_m[-1] - val_m[-1]
            if gap > 0.05:
                out.append(
                    f"at the end, training {name} was {_pct(train_m[-1])} and validation "
                    f"{_pct(val_m[-1])}: the model does {gap * 100:.1f} points better on rows it "
                    "trained on, so expect the validation number on new data."
                )
            elif gap < -0.05:
                out.append(
                    f"validation {name} ({_pct(val_m[-1])}) beat training {name} "
                    f"({_pct(train_m[-1])}): normal with dropout, which acts only in training, "
                    "or with a small validation split."
                )
            break
    return out


def explain_evaluation(evaluation: dict[str, Any]) -> list[str]:
    """The test metrics in words, each against a baseline a person can check."""
    task = evaluation.get("task")
    metrics = evaluation.get("metrics") or {}
    out: list[str] = []
    if task == "classification" and evaluation.get("confusion_matrix"):
        cm = evaluation["confusion_matrix"]
        classes = evaluation.get("classes") or [str(i) for i in range(len(cm))]
        n = sum(sum(r) for r in cm)
        correct = sum(cm[i][i] for i in range(len(cm)))
        if not n:
            return out
        counts = [sum(r) for r in cm]
        major = max(range(len(cm)), key=lambda i: counts[i])
        base = counts[major] / n
        acc = correct / n
        verdict = "better than" if acc > base else "no better than"
        out.append(
            f"the model got {correct} of {n} test rows right ({_pct(acc)}); always guessing the "
            f"most common class ({classes[major]!r}) would get {_pct(base)}, so it is {verdict} "
            "that baseline."
        )
        mistakes = [
            (cm[i][j], i, j) for i in range(len(cm)) for j in range(len(cm)) if i != j and cm[i][j]
        ]
        if mistakes:
            count, i, j = max(mistakes)
            rows = "row was" if count == 1 else "rows were"
            out.append(
                f"the most common mistake: {count} {classes[i]!r} {rows} predicted as "
                f"{classes[j]!r}."
            )
        else:
            out.append("it made no mistakes on the test split.")
        recalls = [(cm[i][i] / counts[i], i) for i in range(len(cm)) if counts[i]]
        worst_recall, worst = min(recalls)
        if worst_recall < acc - 0.1:
            out.append(
                f"class {classes[worst]!r} is the weakest: only {_pct(worst_recall)} of its "
                f"{counts[worst]} rows were recognised."
            )
    elif task == "regression" and "mae" in metrics:
        actual = _finite(evaluation.get("actual") or [])
        predicted = _finite(evaluation.get("predicted") or [])
        spread = ""
        if len(actual) > 1:
            mean = sum(actual) / len(actual)
            std = math.sqrt(sum((a - mean) ** 2 for a in actual) / len(actual))
            spread = f"; the target itself varies by {_num(std)} (standard deviation)"
        out.append(f"predictions are off by {_num(metrics['mae'])} on average (MAE){spread}.")
        if metrics.get("r2") is not None:
            r2 = metrics["r2"]
            out.append(
                f"R² = {r2:.2f}: the model explains {max(r2, 0):.0%} of the target's variation"
                + (" (worse than predicting the mean)." if r2 < 0 else ".")
            )
        if actual and len(actual) == len(predicted):
            k = max(range(len(actual)), key=lambda i: abs(actual[i] - predicted[i]))
            out.append(
                f"the largest miss: {_num(predicted[k])} predicted for an actual {_num(actual[k])}."
            )
    elif task == "forecasting" and metrics.get("naive_mae") is not None:
        mae, naive = metrics["mae"], metrics["naive_mae"]
        skill = metrics.get("skill_vs_naive")
        better = "better" if mae < naive else "worse"
        rel = f" ({abs(skill):.0%} {better})" if skill is not None else ""
        out.append(
            f"the model's forecasts are off by {_num(mae)} on average, against {_num(naive)} for "
            f"simply repeating the last value{rel}."
        )
    return out


def _delta(name: str, base: float, value: float) -> str:
    if name == "accuracy":
        points = (value - base) * 100
        if abs(points) < 0.05:
            return "kept the same accuracy"
        return f"{'lost' if points < 0 else 'gained'} {abs(points):.1f} points of accuracy"
    if base:
        change = (value - base) / abs(base)
        if abs(change) < 0.005:
            return f"kept the same {name}"
        worse = change > 0 if lower_is_better(name) else change < 0
        return f"{'worsened' if worse else 'improved'} {name} by {abs(change):.1%}"
    return f"{name} {_num(value)}"


def _times(a: float, b: float) -> str:
    """'2.3x smaller' style ratio of a to b (a the reference)."""
    return f"{a / b:.1f}x" if b else "∞x"


def explain_compression(report: dict[str, Any]) -> list[str]:
    """One line per variant (size, metric, speed against the float TFLite model) plus latency."""
    base = report.get("baseline") or {}
    out: list[str] = []
    if not base or "size_bytes" not in base:
        return out
    for v in report.get("variants") or []:
        if "error" in v:
            out.append(f"{v['method']} could not be built: {v['error']}")
            continue
        size = v["size_bytes"]
        if size < base["size_bytes"]:
            smaller = f"made the file {_times(base['size_bytes'], size)} smaller"
        else:
            smaller = f"did not make the file smaller ({size:,} vs {base['size_bytes']:,} bytes)"
        line = (
            f"{v['method']} {smaller} and {_delta(v['metric_name'], base['metric'], v['metric'])}"
        )
        if v.get("agreement") is not None:
            line += (
                f"; it predicts the same class as the float model on {v['agreement']:.0%} of rows"
            )
        gz_ratio = base["gzip_bytes"] / v["gzip_bytes"] if v.get("gzip_bytes") else 0
        raw_ratio = base["size_bytes"] / size if size else 0
        if size >= base["size_bytes"] and base["size_bytes"] < 64 * 1024:
            line += (
                f". The float model is only {base['size_bytes'] / 1024:.1f} KB, so the "
                "quantization scales and extra operators outweigh the bytes saved on weights"
            )
        if gz_ratio > raw_ratio * 1.2 and (v.get("sparsity") or 0) > 0.2:
            line += (
                f". Zipped, it is {gz_ratio:.1f}x smaller: pruned zeros only pay off once the "
                "file is compressed"
            )
        out.append(line + ".")
        lat, base_lat = v.get("latency_ms"), base.get("latency_ms")
        if lat and base_lat:
            ratio = base_lat / lat
            if ratio > 1.1:
                speed = f"{ratio:.1f}x faster than"
            elif ratio < 0.9:
                speed = f"{1 / ratio:.1f}x slower than"
            else:
                speed = "about as fast as"
            out.append(
                f"one prediction with {v['method']} takes {lat:.3g} ms, {speed} the float TFLite "
                f"model ({base_lat:.3g} ms), both run by the same TFLite interpreter here."
            )
    out.extend(explain_keras_latency(base))
    return out


def explain_keras_latency(base: dict[str, Any]) -> list[str]:
    """The float TFLite model against Keras, like for like: a batch through a compiled call."""
    keras_batch, rows = base.get("keras_batch_ms"), base.get("batch_rows")
    tflite_batch = base.get("batch_latency_ms")
    if not (keras_batch and rows and tflite_batch):
        return []
    faster = "faster" if tflite_batch < keras_batch else "slower"
    ratio = max(keras_batch, tflite_batch) / min(keras_batch, tflite_batch)
    return [
        f"for a batch of {rows} rows, the float TFLite model took {tflite_batch:.3g} ms and the "
        f"Keras model (a compiled TensorFlow call) {keras_batch:.3g} ms: TFLite was "
        f"{ratio:.1f}x {faster}. Compare compressed variants with the float TFLite row, which "
        "runs on the same interpreter."
    ]


def explain_search(result: dict[str, Any], trials: list[dict[str, Any]]) -> list[str]:
    """How much the hyperparameters mattered, and what the best trial chose."""
    objective = (result.get("objective") or {}).get("name") or "objective"
    direction = (result.get("objective") or {}).get("direction") or (
        "min" if lower_is_better(objective) else "max"
    )
    done = [t for t in trials if t.get("status") == "COMPLETED" and t.get("score") is not None]
    out: list[str] = []
    if not done:
        return ["no trial completed, so the search has no best model."]
    pick = max if direction == "max" else min
    best = pick(done, key=lambda t: t["score"])
    worst = (min if direction == "max" else max)(done, key=lambda t: t["score"])
    failed = sum(1 for t in trials if t.get("status") == "FAILED")
    out.append(
        f"{len(done)} of {len(trials)} trials completed"
        + (f" ({failed} failed)" if failed else "")
        + f"; the best, trial {best.get('number', 0) + 1}, reached {objective} "
        f"{_num(best['score'])}."
    )
    if len(done) > 1 and worst is not best:
        spread = abs(best["score"] - worst["score"])
        unit = f"{spread * 100:.1f} points" if "accuracy" in objective else _num(spread)
        out.append(
            f"the worst completed trial reached {_num(worst['score'])}: the choice of "
            f"hyperparameters changed {objective} by {unit}."
        )
    hp = best.get("hyperparameters") or {}
    shown = {k: v for k, v in hp.items() if not str(k).startswith("tuner/")}
    if shown:
        out.append(
            "the best trial used "
            + ", ".join(f"{k} = {_num(v) if isinstance(v, float) else v}" for k, v in shown.items())
            + "."
        )
    short = [
        t for t in done if t.get("epochs") and t["epochs"] < max(x.get("epochs", 0) for x in done)
    ]
    if short and result.get("tuner") == "hyperband":
        out.append(
            f"Hyperband trained {len(short)} trial(s) for fewer epochs and gave the rest of the "
            "budget to the promising ones."
        )
    return out


def explain_parity(name: str, parity: dict[str, Any]) -> str:
    """What a parity check proved, in one sentence."""
    rows = parity.get("rows")
    diff = parity.get("max_abs_diff")
    if diff is None or not rows:
        return ""
    agree = parity.get("agreement")
    same = f" and chose the same class on {agree:.0%} of them" if agree is not None else ""
    differed = (
        "matched the Keras model's exactly"
        if diff == 0
        else f"differed from the Keras model's by at most {diff:.2g}"
    )
    return f"{name} was run on {rows} test rows by its own runtime: its outputs {differed}{same}."


def explain_profile(summary: dict[str, Any]) -> list[str]:
    """Where a step's time went, and what that points to (from the profile's own numbers)."""
    step = summary.get("step_time_ms")
    if step is None:
        return []
    parts = {k: float(v or 0) for k, v in (summary.get("breakdown_ms") or {}).items()}
    share = float(summary.get("input_percent") or 0)
    out = [
        f"one training step took {step:.3g} ms; {share:.3g}% of it was spent waiting for the "
        "next batch of data."
    ]
    total = sum(parts.values())
    if total > 0:
        top, ms = max(parts.items(), key=lambda kv: kv[1])
        if top == "input" or share > 30:
            out.append(
                "the input pipeline is the bottleneck: prefetching, caching or parallel "
                "preprocessing in tf.data will speed training up more than a faster processor."
            )
        elif top == "compute":
            out.append(
                f"computing the model takes most of the step ({ms / total:.0%}): the data "
                "arrives fast enough, so a bigger batch or a faster device is what would help."
            )
        else:
            out.append(
                f"'{top}' work takes the largest share ({ms / total:.0%}): with a model this "
                "small, fixed per-step costs dominate; larger batches amortise them."
            )
    ops = summary.get("top_ops") or []
    if ops:
        o = ops[0]
        out.append(
            f"the most expensive operation was {o['name']} ({o['type']}), "
            f"{float(o.get('percent') or 0):.3g}% of the time spent in operations."
        )
    return out
