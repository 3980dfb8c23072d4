"""The profiler: capture TensorFlow Profiler traces of a run's model and turn them into JSON.

`job.py` (TensorFlow, inside a worker) captures the trace and converts it; `convert.py` turns an
`.xplane.pb` into `profile_summary.json` with XProf's own converters (no TensorFlow import);
`recommend.py` and `compare.py` are plain Python over that JSON, so the UI reads only JSON.
"""
