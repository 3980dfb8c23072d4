"""TF Serving's JSON request/response rules (core/serving/json_tensor.py), no TensorFlow.

Cases ported from tensorflow/serving's tensorflow_serving/util/json_tensor_test.cc: the same
bodies, the same accept/refuse decision and the message substring that test checks.
"""

from __future__ import annotations

import base64
import json
import sys

import numpy as np
import pytest

from core.serving.json_examples import examples_from_json
from core.serving.json_tensor import (
    RequestError,
    TensorInfo,
    parse_json,
    predict_tensors,
    tensors_to_json,
)


def fill(body: str | bytes, **infos: str):
    """FillPredictRequestFromJson with inputs name=dtype (any shape)."""
    doc = parse_json(body.encode() if isinstance(body, str) else body)
    infos_ = {k: TensorInfo(v, None) for k, v in infos.items()}
    return predict_tensors(doc, lambda sig: infos_)


def refused(body, message, **infos):
    with pytest.raises(RequestError) as exc:
        fill(body, **infos)
    assert message in str(exc.value), str(exc.value)
    return exc.value


def test_single_unnamed_tensor_row_and_columnar():
    _, arrays, form = fill('{"instances": [[1,2],[3,4],[5,6]]}', default="int32")
    assert form == "row" and arrays["default"].tolist() == [[1, 2], [3, 4], [5, 6]]
    assert arrays["default"].dtype == np.int32
    _, arrays, form = fill('{"inputs": [[1,2],[3,4]]}', int_tensor="int32")
    assert form == "columnar" and arrays["int_tensor"].shape == (2, 2)
    _, arrays, _ = fill('{"inputs": 5}', int_tensor="int32")  # a scalar, as TF Serving allows
    assert arrays["int_tensor"].shape == () and int(arrays["int_tensor"]) == 5


def test_mixed_ints_and_floats_for_a_float_tensor():
    _, arrays, _ = fill('{"instances": [1, 2.0, 3, 4, 5.003, 0.007, 0.0]}', default="float32")
    assert np.allclose(arrays["default"], [1, 2, 3, 4, 5.003, 0.007, 0])


def test_float_beyond_float32_is_inf_but_beyond_double_is_refused():
    # FloatTensorThatExceedsMaxReturnsInf: DBL_MAX is a valid double, inf as a float
    _, arrays, _ = fill(f'{{"instances": [{sys.float_info.max!r}]}}', default="float32")
    assert np.isinf(arrays["default"][0])
    _, arrays, _ = fill(f'{{"instances": [{sys.float_info.min!r}]}}', default="float32")
    assert arrays["default"][0] == 0
    # 1e400 is no double at all: rapidjson refuses the document
    refused('{"instances": [1e400]}', "Number too big to be stored in double", default="float32")
    refused('{"instances": [-1e400, 1]}', "Number too big", default="float32")
    refused('{"instances": [' + "9" * 400 + "]}", "Number too big", default="float32")


def test_stop_when_done_and_nan_tokens_as_rapidjson():
    # TensorFromNonNullTerminatedBuffer: bytes after the document are ignored
    _, arrays, _ = fill('{"instances": [[1,2],[3,4],[5,6]]}X', default="int32")
    assert arrays["default"].shape == (3, 2)
    _, arrays, _ = fill('{"instances": [NaN, Infinity, -Infinity]}', default="float32")
    assert np.isnan(arrays["default"][0]) and np.isinf(arrays["default"][1:]).all()


def test_deeply_nested_json_is_a_400_not_a_crash():
    body = '{"instances":[1], "nested":' + "[" * 500000 + "]" * 500000 + "}"
    with pytest.raises(RequestError) as exc:  # rapidjson accepts it; Python's parser has a limit
        fill(body, default="int32")
    assert exc.value.status == 400


def test_base64_values():
    raw = b"\x00\xffbinary"
    b64 = base64.b64encode(raw).decode()
    _, arrays, _ = fill(f'{{"instances": [{{"b64": "{b64}"}}, {{"b64": "{b64}"}}]}}', b="string")
    assert arrays["b"].tolist() == [raw, raw] and all(type(v) is bytes for v in arrays["b"])
    _, arrays, _ = fill(f'{{"instances": [[{{"b64": "{b64}"}}], [{{"b64": "aGk="}}]]}}', b="string")
    assert arrays["b"].tolist() == [[raw], [b"hi"]]
    _, arrays, _ = fill(f'{{"inputs": {{"b64": "{b64}"}}}}', b="string")
    assert arrays["b"].tolist() == raw
    refused('{"instances": [{"b64": "not base64!"}]}', "Unable to base64 decode", b="string")
    refused('{"instances": [[{"b64": 1}]]}', "not formatted correctly for base64", b="string")


def test_multiple_named_tensors_row_and_columnar():
    body = """{"instances": [
        {"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"],
         "float_tensor": [1.0, NaN], "dbl_tensor": [3.0]},
        {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["baz", "bat"],
         "float_tensor": [2.0, 3.0], "dbl_tensor": [4.0]}]}"""
    infos = dict(int_tensor="int32", str_tensor="string", float_tensor="float32",
                 dbl_tensor="float64")  # fmt: skip
    _, arrays, form = fill(body, **infos)
    assert form == "row" and arrays["int_tensor"].shape == (2, 3, 2)
    assert arrays["str_tensor"].tolist() == [[b"foo", b"bar"], [b"baz", b"bat"]]
    assert arrays["dbl_tensor"].dtype == np.float64
    body = '{"inputs": {"int_tensor": [[1,2],[3,4]], "str_tensor": ["foo", "bar"], "extra": 1}}'
    _, arrays, form = fill(body, int_tensor="int32", str_tensor="string")
    assert form == "columnar" and set(arrays) == {"int_tensor", "str_tensor"}  # extra ignored


@pytest.mark.parametrize(
    "body, message",
    [
        ("", "The document is empty"),
        ("instances = [1, 2]", "JSON Parse error: Invalid value"),
        ("[1, 2]", "Is not object"),
        ('{"signature_name": 5, "instances": [[1,2],[3,4],[5,6,7]]}', "must be a string value"),
        ('{"instances": [[1,2]], "inputs": [[1,2]]}', "Not formatted correctly"),
        ('{"instances": [[1,2],[3,4],[5,6,7]]}', "Expecting tensor size"),
        ('{"instances": [[1,2],[3,4],[[5,6]]]}', "Expecting shape"),
        ('{"instances": [1, [1]]}', "Expecting shape"),
        ('{"instances": [[1,2],["a", "b"]]}', "not of expected type"),
        ('{"instances": [1.5]}', "is not of expected type: int32"),
        ('{"instances": [true]}', "Type: True is not of expected type: int32"),
        ('{"instances": [null]}', "Type: Null is not of expected type: int32"),
        ('{"instances": 1}', "Expecting 'instances' to be an list/array"),
        ('{"instances": []}', "No values in 'instances' array"),
        ('{"rows": [1]}', "Missing 'inputs' or 'instances' key"),
        ('{"instances": [[1, 2], [3]]}', "Expecting tensor size"),
        ('{"inputs": [[1, 2], [3]]}', "Encountered list at unexpected size"),
        ('{"inputs": [[1, 2], 3]}', "found at incorrect level"),
        ('{"inputs": [1, [2]]}', "Encountered list at unexpected level"),
    ],
)
def test_single_unnamed_tensor_errors(body, message):
    assert refused(body, message, default="int32").status == 400


def test_null_and_bool_are_no_floats():
    refused('{"instances": [null, 1.0]}', "Type: Null is not of expected type: float", x="float32")
    refused('{"instances": [true]}', "is not of expected type: float", x="float32")
    refused('{"instances": ["3"]}', "Type: String is not of expected type: float", x="float32")
    refused('{"instances": [1]}', "is not of expected type: bool", x="bool")
    refused('{"instances": [1.0]}', "is not of expected type: string", x="string")


@pytest.mark.parametrize(
    "body, message",
    [
        ('{"instances": [{"int_tensor": [[1,2],[3,4],[5,6]], "str_tensor": ["foo", "bar"]},'
         ' {"int_tensor": [[[7,8],[9,0],[1,2]]], "str_tensor": ["baz", "bat"]}]}',
         "Expecting shape"),
        ('{"instances": [{"int_tensor": [[1,2],[3,4],[5,6],[7,8]], "str_tensor": ["foo", "bar"]},'
         ' {"int_tensor": [[7,8],[9,0],[1,2]], "str_tensor": ["baz", "bat"]}]}',
         "Expecting tensor size"),
        ('{"instances": [{"int_tensor": [[1,2]], "str_tensor": ["foo"]}, [1, 20, 30]]}',
         "Expecting object but got list"),
        ('{"instances": [{"int_tensor": [1]}]}', "keys must be equal to: int_tensor,str_tensor"),
        ('{"instances": [{"int_tensor": [1], "str_tensor": ["a"], "x": 1}]}',
         "does not have named input: x"),
        ('{"instances": [[1, 2]]}', "instances is a plain list, but expecting list of objects"),
        ('{"inputs": [[1, 2]]}', "inputs is a plain value/list, but expecting an object"),
        ('{"inputs": {"int_tensor": [1]}}', "Missing named input: str_tensor in 'inputs' object."),
    ],
)  # fmt: skip
def test_multiple_named_tensor_errors(body, message):
    refused(body, message, int_tensor="int32", str_tensor="string")


def test_value_list_then_object_is_refused():
    body = '{"instances": [["baz", "bar"], {"str_tensor": ["baz", "bat"]}]}'
    refused(body, "Expecting value/list but got object", str_tensor="string")


def test_unknown_signature_comes_after_the_body_checks():
    def inputs_for(sig):
        raise RequestError(f'Serving signature name: "{sig}" not found in signature def')

    doc = parse_json(b'{"signature_name": "nope", "instances": [1]}')
    with pytest.raises(RequestError, match='"nope" not found'):
        predict_tensors(doc, inputs_for)
    with pytest.raises(RequestError, match="Failed to get input map for signature: DEFAULT"):
        predict_tensors(parse_json(b'{"instances": [1]}'), lambda sig: {})


# -- responses (MakeJsonFromTensors) -----------------------------------------------------------
def test_row_and_columnar_responses():
    out = {"default": np.array([[1, 2], [3, 4]], dtype=np.int32)}
    assert tensors_to_json(out, "row") == {"predictions": [[1, 2], [3, 4]]}
    assert tensors_to_json(out, "columnar") == {"outputs": [[1, 2], [3, 4]]}
    two = {"a": np.array([0.2, 0.5], np.float32), "b": np.array([b"x", b"y"], dtype=object)}
    rows = [{"a": 0.2, "b": "x"}, {"a": 0.5, "b": "y"}]
    assert tensors_to_json(two, "row") == {"predictions": rows}
    assert tensors_to_json(two, "columnar") == {"outputs": {"a": [0.2, 0.5], "b": ["x", "y"]}}


def test_bytes_outputs_float_precision_and_non_finite():
    raw = np.array([b"\x00\xff", b"ok"], dtype=object)
    got = tensors_to_json({"out_bytes": raw}, "row")
    assert got == {"predictions": [{"b64": "AP8="}, {"b64": "b2s="}]}
    # six-digit float32 as TF Serving writes it, and NaN / Infinity tokens (rapidjson's)
    text = json.dumps(tensors_to_json({"x": np.array([0.2, np.nan, np.inf], np.float32)}, "row"))
    assert text == '{"predictions": [0.2, NaN, Infinity]}'


def test_response_errors():
    with pytest.raises(RequestError, match="empty tensor map"):
        tensors_to_json({}, "row")
    with pytest.raises(RequestError, match="no shape information"):
        tensors_to_json({"s": np.array(1.0)}, "row")
    with pytest.raises(RequestError, match="inconsistent batch size"):
        tensors_to_json({"a": np.zeros(2), "b": np.zeros(3)}, "row")
    assert tensors_to_json({"a": np.zeros((0, 2))}, "row") == {"predictions": []}


# -- classify / regress bodies -----------------------------------------------------------------
def test_examples_and_context():
    doc = parse_json(b"""{"signature_name": "classify", "context": {"lang": "en", "n": 3},
        "examples": [{"names": ["a", "b"], "f": 1.5, "i": [1, 2], "t": true,
                      "raw": {"b64": "aGk="}}]}""")
    context, examples = examples_from_json(doc)
    assert context == {"lang": ("bytes", [b"en"]), "n": ("int64", [3])}
    assert examples[0] == {"names": ("bytes", [b"a", b"b"]), "f": ("float", [1.5]),
                           "i": ("int64", [1, 2]), "t": ("int64", [1]),
                           "raw": ("bytes", [b"hi"])}  # fmt: skip


@pytest.mark.parametrize(
    "body, message",
    [
        ('{"examples": [{}], "signature_name": 1}', None),  # checked by signature_name()
        ('{"context": 1, "examples": [{}]}', "Example must be JSON object"),
        ('{"examples": {}}', "list/array"),
        ('{"examples": [1]}', "Example must be JSON object"),
        ('{"examples": []}', "'examples' value is an empty array"),
        ('{"instances": [1]}', "key 'examples' is expected and was not found"),
        ('{"examples": [{"names": [null]}]}', "names has element with unexpected JSON type: Null"),
        ('{"examples": [{"names": [1, "a"]}]}', "feature: names expecting type: int64"),
        ('{"examples": [{"names": {"a": 1}}]}', "unexpected JSON type: Object"),
        ('{"examples": [{"names": [[1]]}]}', "names has element with unexpected JSON type: Array"),
        ('{"examples": [{"names": 18446744073709551615}]}', "Only int64_t is supported"),
    ],
)  # fmt: skip
def test_example_errors(body, message):
    doc = parse_json(body.encode())
    if message is None:
        from core.serving.json_tensor import signature_name

        with pytest.raises(RequestError, match="'signature_name' key must be a string"):
            signature_name(doc)
        return
    with pytest.raises(RequestError) as exc:
        examples_from_json(doc)
    assert message in str(exc.value)


# -- TF Studio's additions (#34), beside TF Serving's rules -------------------------------------
def test_table_rows_of_scalars_fit_column_inputs_and_null_is_missing_where_the_model_fills():
    from core.serving.json_tensor import check_shapes

    infos = {
        "bill_length_mm": TensorInfo("float32", (None, 1), nullable=True),
        "island": TensorInfo("string", (None, 1)),
    }
    body = (
        '{"instances": [{"bill_length_mm": 41.5, "island": "Dream"},'
        ' {"bill_length_mm": null, "island": "Biscoe"}]}'
    )
    _, arrays, form = predict_tensors(parse_json(body.encode()), lambda sig: infos)
    fitted = check_shapes(arrays, infos, "serving_default")
    assert form == "row" and fitted["bill_length_mm"].shape == (2, 1)
    assert fitted["bill_length_mm"][0, 0] == np.float32(41.5)
    assert np.isnan(fitted["bill_length_mm"][1, 0])
    assert fitted["island"].reshape(-1).tolist() == [b"Dream", b"Biscoe"]
    # columnar, the same
    body = '{"inputs": {"bill_length_mm": [41.5, null], "island": ["Dream", "Biscoe"]}}'
    _, arrays, _ = predict_tensors(parse_json(body.encode()), lambda sig: infos)
    assert check_shapes(arrays, infos, "serving_default")["island"].shape == (2, 1)


def test_null_stays_refused_where_the_model_does_not_fill_and_bad_shapes_say_so():
    from core.serving.json_tensor import check_shapes

    infos = {"x": TensorInfo("float32", (None, 1))}
    with pytest.raises(RequestError, match="Type: Null is not of expected type: float"):
        predict_tensors(parse_json(b'{"instances": [null]}'), lambda sig: infos)
    _, arrays, _ = predict_tensors(parse_json(b'{"instances": [[1.0, 2.0]]}'), lambda s: infos)
    with pytest.raises(RequestError, match=r"got shape \[1,2\] but signature s takes \[-1,1\]"):
        check_shapes(arrays, infos, "s")


def test_a_columnar_batch_of_unequal_lengths_is_refused_before_the_graph():
    from core.serving.json_tensor import check_shapes

    infos = {"a": TensorInfo("float32", (None, 1)), "b": TensorInfo("float32", (None, 1))}
    body = b'{"inputs": {"a": [1.0, 2.0, 3.0], "b": [1.0, 2.0]}}'
    _, arrays, _ = predict_tensors(parse_json(body), lambda sig: infos)
    with pytest.raises(RequestError, match=r"different numbers of examples \(a 3, b 2\)"):
        check_shapes(arrays, infos, "serving_default")


def test_op_errors_reach_the_client_without_the_graph_stack():
    from core.serving.model import op_message

    text = (
        "Graph execution error:\n\nDetected at node StatefulPartitionedCall defined at (most "
        'recent call last):\n  File "/srv/app.py", line 1, in <module>\n    main()\n\n'
        "{{function_node __inference_wrapper_1}} Incompatible shapes: [3,1] vs. [2,1]\n"
        "\t [[{{node functional_1/concat}}]] [Op:__inference_wrapper_12]"
    )
    assert op_message(text) == "Incompatible shapes: [3,1] vs. [2,1]"
