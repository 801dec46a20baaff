"""src/engine/helperGraphs.ts is what training/helper_graphs.py writes, and its graphs pass the ONNX checker."""
import base64
import os
import re
import sys

import onnx

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
import helper_graphs  # noqa: E402


def test_typescript_file_is_up_to_date():
    assert helper_graphs.main(["--check"]) == 0


def test_embedded_graphs_are_checked_onnx_with_the_engine_contract():
    with open(helper_graphs.OUT, encoding="utf-8") as fh:
        found = dict(re.findall(r"export const (\w+) = '([A-Za-z0-9+/=]+)';", fh.read()))
    assert set(found) == {"toFloat16", "pixelLogits"}
    for name, b64 in found.items():
        model = onnx.load_from_string(base64.b64decode(b64))
        onnx.checker.check_model(model)
        io = ([i.name for i in model.graph.input], [o.name for o in model.graph.output])
        assert io == ({"toFloat16": (["x"], ["y"]), "pixelLogits": (["a", "b"], ["y"])}[name]), name
