"""The decoder graph written node by node from the weights, for onnxruntime's CPU kernels.

The TorchScript exporter turns every ``view``/``shape`` of the PyTorch code into Shape → Gather → Unsqueeze →
Concat chains and the rotary embedding into Slice/Neg/Concat per layer; at our sizes (S ≈ 150, d = 192) those
small ops took about half of the image prefill, so the transformer reached only 0.38 of the machine's GEMM peak.
This builder emits the same function with

  * one packed Q|K|V MatMul and one packed gate|up MatMul per layer (bigger GEMMs, fewer launches),
  * the 1/sqrt(head_dim) scale folded into the query weights,
  * the multimodal rotary tables computed once per call and applied by ``com.microsoft.RotaryEmbedding``
    to queries and keys together (the tables are indexed by token, so the 3-axis positions stay exact),
  * grouped-query attention as two batched MatMuls over [kv_heads, groups·S, head_dim] (no K/V expansion),
  * ``SkipSimplifiedLayerNormalization`` for each residual add + RMSNorm,
  * constant reshape targets (0 = keep that dimension), so no shape arithmetic runs at all,
  * with ``attention="fused"``, the image prefill's attention (no past, an all-zero mask: the whole block is
    bidirectional) in ``com.microsoft.MultiHeadAttention``, whose CPU kernel is a tiled flash attention: the
    [heads, S, S] score tensor is never written (at 4,098 tokens that is 940 MB per layer, and the two
    batched MatMuls around the softmax are memory-bound). Every other call (text steps: a past or a causal
    mask) takes the batched-MatMul path, chosen per call by an ``If``; both compute the same function.

Inputs, outputs, layouts and the KV cache are exactly those of the exported PyTorch module (see export.py);
the engine's parity test holds it to the PyTorch reference.
"""
from __future__ import annotations

from typing import Callable, Iterable, List

import numpy as np

from .config import PixelSailConfig

MS = "com.microsoft"


class _Graph:
    def __init__(self, sink: Callable = None) -> None:
        import onnx  # noqa: F401  (fail early with the import error, not mid-build)

        self.nodes: List = []
        self.inits: List = []
        self.names = set()
        self._n = 0
        # Turns (name, array) into a TensorProto; the streaming converter's sink writes the bytes to external
        # data as they come, so no weight stays in the graph being built.
        self._sink = sink

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        value = np.ascontiguousarray(value)
        self.names.add(name)
        self.inits.append(self._sink(name, value) if self._sink else numpy_helper.from_array(value, name))
        return name

    def op(self, op_type: str, inputs: List[str], outputs: int = 1, domain: str = "", graph_output: str = None,
           **attrs) -> List[str]:
        """Appends a node; with ``graph_output`` its first result is that graph output (no Identity copy)."""
        from onnx import helper

        self._n += 1
        base = f"{op_type}_{self._n}"
        outs = [f"{base}:{i}" for i in range(outputs)]
        if graph_output:
            outs[0] = graph_output
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=base, domain=domain or None, **attrs))
        return outs

    def one(self, op_type: str, inputs: List[str], **kw) -> str:
        return self.op(op_type, inputs, **kw)[0]

    def branch(self, build) -> object:
        """A subgraph (an ``If`` branch) of the nodes ``build()`` appends; it reads outer values by name and
        returns its one output's name. Constants it makes stay initializers of the main graph."""
        from onnx import TensorProto, helper

        outer, self.nodes = self.nodes, []
        try:
            out = build()
            nodes = self.nodes
        finally:
            self.nodes = outer
        self._n += 1
        return helper.make_graph(nodes, f"branch_{self._n}", [], [helper.make_tensor_value_info(out, TensorProto.FLOAT, None)])

    def loop_body(self, build) -> object:
        """A ``Loop`` body of the nodes ``build(i)`` appends, ``i`` the iteration number (int64 scalar); its one
        result is the loop's scan output (stacked along a new first axis). No loop-carried values."""
        from onnx import TensorProto, helper

        self._n += 1
        it, cond_in, cond_out = f"loop_{self._n}_i", f"loop_{self._n}_cond", f"loop_{self._n}_cond_out"
        outer, self.nodes = self.nodes, []
        try:
            out = build(it)
            nodes = self.nodes + [helper.make_node("Identity", [cond_in], [cond_out], name=f"loop_{self._n}_keep")]
        finally:
            self.nodes = outer
        return helper.make_graph(nodes, f"loop_{self._n}",
                                 [helper.make_tensor_value_info(it, TensorProto.INT64, []), helper.make_tensor_value_info(cond_in, TensorProto.BOOL, [])],
                                 [helper.make_tensor_value_info(cond_out, TensorProto.BOOL, []), helper.make_tensor_value_info(out, TensorProto.FLOAT, None)])


def _f32(t) -> np.ndarray:
    return t.detach().cpu().float().numpy()


def rotary_tables(cfg: PixelSailConfig) -> np.ndarray:
    """[3, 1, 1, head_dim/2]: inv_freq masked to the axis (t, h, w) that owns each frequency pair."""
    dim = cfg.head_dim
    inv_freq = 1.0 / (cfg.rope_theta ** (np.arange(0, dim, 2, dtype=np.float32) / dim))
    owner = np.concatenate([np.full(w, a) for a, w in enumerate(cfg.mrope_section)])
    table = np.zeros((3, dim // 2), dtype=np.float32)
    table[owner, np.arange(dim // 2)] = inv_freq
    return table.reshape(3, 1, 1, dim // 2).astype(np.float32)


def column_quantized(w: np.ndarray, block: int = 8192):
    """w [in, out] → (int8 weights, float32 scale per output column), symmetric (zero point 0). Done in blocks
    of columns: on the 3B LM head (2,048 × 151,936, 1.24 GB in float32) whole-matrix temporaries took the
    converter's peak from 5.2 to 7.0 GB. The values are those of the whole-matrix expression."""
    q = np.empty(w.shape, np.int8)
    col_scale = np.empty(w.shape[1], np.float32)
    for c in range(0, w.shape[1], block):
        cols = w[:, c:c + block]
        s = np.maximum(np.abs(cols).max(axis=0), 1e-12) / 127.0
        q[:, c:c + block] = np.clip(np.round(cols / s), -127, 127).astype(np.int8)
        col_scale[c:c + block] = s
    return q, col_scale


def _linear_per_tensor(g: _Graph, x: str, name: str, w: np.ndarray, b: np.ndarray = None, graph_output: str = None) -> str:
    """x · w (+ b): int8 weights, activations quantized by DynamicQuantizeMatMul with one scale per tensor."""
    q, col_scale = column_quantized(w)
    ins = [x, g.const(f"w_{name}", q), g.const(f"s_{name}", col_scale), g.const(f"z_{name}", np.zeros(w.shape[1], np.int8))]
    if b is not None:
        ins.append(g.const(f"b_{name}", b.astype(np.float32)))
    return g.one("DynamicQuantizeMatMul", ins, domain=MS, graph_output=graph_output)


def _linear_per_token(g: _Graph, x: str, name: str, w: np.ndarray, graph_output: str = None) -> str:
    """x · w with int8 weights (a scale per output column) and 8-bit activations with a scale per token (per
    row of x). DynamicQuantizeMatMul quantizes its input with one scale per tensor, so one outlier token
    coarsens the rounding of every other token. Here each row is first divided by its own abs-max, so every
    row of the quotient lies in [-1, 1] and reaches ±1; DynamicQuantizeMatMul's one (asymmetric uint8) scale
    for the quotient, at most 2/255, is then a step of at most 1/127.5 of each row's own abs-max, and the
    product is multiplied back by the row's abs-max. onnxruntime has no op taking per-row activation scales (MatMulIntegerToFloat's a_scale is per
    tensor or per column of A); written out with QuantizeLinear and MatMulInteger it ran slower on the CPU
    (measured at [1024, 4864] × [4864, 896]: int8 × int8 MatMulInteger is a reference loop, 20× uint8 × int8,
    and a per-axis QuantizeLinear took longer than this Div). The abs-max is max(ReduceMax, −ReduceMin), which
    writes no |x| tensor."""
    if "row_max_floor" not in g.names:
        g.const("row_max_floor", np.array(1e-30, np.float32))  # an all-zero row stays zero, not NaN
    row_max = g.one("Max", [g.one("ReduceMax", [x], axes=[-1], keepdims=1),
                            g.one("Neg", [g.one("ReduceMin", [x], axes=[-1], keepdims=1)]), "row_max_floor"])  # [B, S, 1]
    y = _linear_per_tensor(g, g.one("Div", [x, row_max]), name, w)
    return g.one("Mul", [y, row_max], graph_output=graph_output)


def projection_graph(w: np.ndarray, form: str):
    """One projection x [1, S, in] → y [1, S, out] with ``w`` [in, out] in a down projection's form
    (float32, per_tensor, per_token): for tests and for timing the forms apart from the decoder."""
    from onnx import TensorProto, helper

    if form not in DOWN_FORMS:
        raise ValueError(f"form must be one of {', '.join(DOWN_FORMS)}, not {form}")
    g = _Graph()
    if form == "float32":
        g.one("MatMul", ["x", g.const("w", w.astype(np.float32))], graph_output="y")
    elif form == "per_tensor":
        _linear_per_tensor(g, "x", "p", w, graph_output="y")
    else:
        _linear_per_token(g, "x", "p", w, graph_output="y")
    f32 = TensorProto.FLOAT
    graph = helper.make_graph(g.nodes, "projection", [helper.make_tensor_value_info("x", f32, [1, "S", w.shape[0]])],
                              [helper.make_tensor_value_info("y", f32, [1, "S", w.shape[1]])], initializer=g.inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)])


ATTENTION = ("matmul", "fused")


# What the int8 decoder stores as int8 besides the Q|K|V, output and gate|up weights (see build_decoder_from).
INT8_FORMS = {
    "projections": {"down": "float32", "int8_lm_head": False},
    "full": {"down": "per_token", "int8_lm_head": True},
}
DOWN_FORMS = ("float32", "per_tensor", "per_token")


def build_decoder(model, inputs: List[str], outputs: List[str], weights: str = "float32", attention: str = "matmul",
                  int8_form: str = "projections", **overrides):
    """The decoder ModelProto for ``model`` (a PixelSail), with the graph contract of export.graph_io.
    See ``build_decoder_from`` for what ``weights``, ``attention`` and ``int8_form`` do."""
    sd = model.single_transformer.state_dict()
    return build_decoder_from(model.config, lambda name: _f32(sd[name]), sd.keys(), inputs, outputs, weights, attention=attention,
                              int8_form=int8_form, **overrides)


def build_decoder_from(cfg: PixelSailConfig, get: Callable[[str], np.ndarray], names: Iterable[str], inputs: List[str],
                       outputs: List[str], weights: str = "float32", sink: Callable = None, attention: str = "matmul",
                       int8_form: str = "projections", down: str = None, int8_lm_head: bool = None, logits_rows: int = 1,
                       mlp_chunk_rows: int = 0):
    """The decoder ModelProto from weights read one at a time: ``get(name)`` returns the float32 array of a
    ``single_transformer`` state-dict entry (``model.layers.0.self_attn.q_proj.weight``, ``lm_head.weight`` …),
    ``names`` lists the entries there are (a tied model has no ``lm_head.weight``), and ``sink`` (optional)
    makes each initializer's TensorProto (see exporting.ExternalDataWriter). Each weight is asked for when its
    node is written, so with a sink that stores the bytes elsewhere the graph never holds the model.

    weights="int8": the Q|K|V, output and gate|up weights are stored as int8 with one symmetric scale per
    output column and run by ``com.microsoft.DynamicQuantizeMatMul`` (activations quantized per call, one
    scale per tensor). ``int8_form`` says what else is int8 (see ``INT8_FORMS``):

    * "projections" (export.py's default, what models/default ships): the MLP down projection and the LM head
      stay float32. The down projection's input, the SwiGLU product, is heavy-tailed, and one scale for the
      whole tensor costs it the most precision (quantized that way, one no-target answer in 18 flipped on a
      check split with an earlier model; see the model card).
    * "full" (convert_official.py's default): the LM head int8 too (DynamicQuantizeMatMul; it reads one row,
      so its activation scale is per token anyway), and the down projection int8 with one activation scale
      per token (each row divided by its abs-max before DynamicQuantizeMatMul, see ``_linear_per_token``),
      so an outlier token no longer coarsens every other token's rounding. At Qwen2.5-0.5B shapes the two are
      963 MB of float32; the int8 decoder file goes from 1,218 MB to 497 MB.

    Measured on the shipped weights (training/checkpoints/long_run_seg7.pt), ``pixel-sail eval`` on the CI
    split (generate.py --split test --seed 99 --count 40), float32 / projections / full: no-target 0.778 for
    all three (no answer changed), MCQ 0.575 for all three, RES cIoU 0.280 / 0.279 / 0.278, V-T cIoU 0.218 /
    0.218 / 0.219, METEOR 0.681 / 0.681 / 0.685 (3 captions differ), overall 48.25 / 48.25 / 48.40; on the
    200-scene validation split (seed 1) likewise: no-target 0.908 (98 expressions) and MCQ 0.525 for all three,
    overall 47.75 / 47.76 / 47.91 (training/notes/int8-forms.json). On that model the per-tensor down
    projection flipped no no-target answer either (40 scenes: no-target 0.778, MCQ 0.600, one answer more,
    overall 49.08): the per-token scales are the safer form, not a measured rescue.

    ``down`` ("float32", "per_tensor", "per_token") and ``int8_lm_head`` override the form's choices (for
    measurements and tests). Attention itself and the norms always stay float32.

    ``logits_rows``: the LM head reads the last min(S, logits_rows) rows, so ``logits`` is [1, R, vocab]. With
    more than one row the engine checks a drafted answer in the same pass as the prompt (a segment prompt's
    `It is [SEG].`): row j is the prediction after token S−R+j, so one run tells how much of the draft the model
    would have said itself (ModelRunner.generate). At the paper's vocabulary the head costs about as much for 8
    rows as for 1 (it reads 136 M int8 weights either way). An int8 head over several rows takes one activation
    scale per row (``_linear_per_token``): with one scale per tensor, the last row's logits would depend on the
    rows drafted beside it. 1 (export.py's default) writes the graph as before, byte for byte.

    ``mlp_chunk_rows`` C > 0: each layer's MLP runs at most C rows at a time (a ``Loop`` over ⌈S / C⌉ equal
    chunks, the last zero-padded), so its intermediates are C rows, not S: at a 1024-px prefill (4,098 tokens)
    the 0.5B model's gate|up product alone is 160 MB, and onnxruntime's arena keeps the largest working set a run
    had for the session's life. Calls of up to C tokens (prompts, decoding) are one chunk. The rows are
    independent in float32 (the same values); in int8 each chunk's activations get their own scale. 0 (the
    default) writes the graph as before."""
    if weights not in ("float32", "int8"):
        raise ValueError(f"weights must be float32 or int8, not {weights}")
    if attention not in ATTENTION:
        raise ValueError(f"attention must be one of {', '.join(ATTENTION)}, not {attention}")
    if int8_form not in INT8_FORMS:
        raise ValueError(f"int8_form must be one of {', '.join(INT8_FORMS)}, not {int8_form}")
    form = INT8_FORMS[int8_form]
    down = form["down"] if down is None else down
    int8_lm_head = form["int8_lm_head"] if int8_lm_head is None else int8_lm_head
    if down not in DOWN_FORMS:
        raise ValueError(f"down must be one of {', '.join(DOWN_FORMS)}, not {down}")
    if weights == "float32":
        down, int8_lm_head = "float32", False
    if not (isinstance(logits_rows, int) and logits_rows >= 1):
        raise ValueError(f"logits_rows must be a positive integer, not {logits_rows!r}")
    if not (isinstance(mlp_chunk_rows, int) and mlp_chunk_rows >= 0):
        raise ValueError(f"mlp_chunk_rows must be 0 or a positive integer, not {mlp_chunk_rows!r}")
    from onnx import TensorProto, helper

    names = set(names)

    class _Lazy:
        def __getitem__(self, name: str) -> np.ndarray:
            return get(name)

    sd = _Lazy()
    h, d, nh, kvh = cfg.hidden_size, cfg.head_dim, cfg.num_attention_heads, cfg.num_key_value_heads
    groups = nh // kvh
    eps = float(cfg.rms_norm_eps)
    g = _Graph(sink)
    x_in, mask_in, pos_in = inputs[0], inputs[1], inputs[2]

    # Rotary tables for this call's tokens, [S, head_dim/2] (RotaryEmbedding's cache layout, position 0 = first token).
    pos = g.one("Cast", [pos_in], to=TensorProto.FLOAT)
    freqs = g.one("Mul", [g.one("Unsqueeze", [pos, g.const("axis_last", np.array([-1], np.int64))]),
                          g.const("rotary_inv_freq", rotary_tables(cfg))])  # [3, 1, S, D/2]
    freqs = g.one("ReduceSum", [freqs, g.const("axis0", np.array([0], np.int64))], keepdims=0)  # [1, S, D/2]
    freqs = g.one("Squeeze", [freqs, g.const("axis0b", np.array([0], np.int64))])  # [S, D/2]
    cos, sin = g.one("Cos", [freqs]), g.one("Sin", [freqs])
    rope_start = g.const("rope_start", np.array([0], np.int64))

    def shape(name: str, dims) -> str:
        return g.const(name, np.array(dims, np.int64))

    kv_heads = shape("shape_kv_heads", [0, 0, kvh, d])
    q_groups = shape("shape_q_groups", [0, 0, kvh, groups, d])
    q_flat = shape("shape_q_flat", [0, kvh, -1, d])
    by_head = shape("shape_by_head", [0, nh, -1, 0])
    by_kv = shape("shape_by_kv", [0, kvh, -1, 0])
    out_groups = shape("shape_out_groups", [0, kvh, groups, -1, d])
    merged = shape("shape_merged", [0, 0, nh * d])
    split_qkv = shape("split_qkv", [(nh + kvh) * d, kvh * d])
    split_qk = shape("split_qk", [nh * d, kvh * d])
    split_mlp = shape("split_mlp", [cfg.intermediate_size, cfg.intermediate_size])
    scale = 1.0 / np.sqrt(d)
    if attention == "fused":
        # The fused kernel takes no mask: it is used only where the mask is all zero and there is no past
        # (an image block's prefill); decided once per call, read by every layer's If.
        axis2 = g.const("axis2", np.array([2], np.int64))
        expand_groups = shape("expand_groups", [1, 1, groups, 1, 1])
        heads_flat = shape("shape_heads_flat", [0, nh, -1, d])
        zero = g.const("zero_f", np.array(0.0, np.float32))
        past_len = g.one("Gather", [g.one("Shape", [inputs[3]]), g.const("dim2", np.array(2, np.int64))], axis=0)
        no_past = g.one("Equal", [past_len, g.const("zero_i", np.array(0, np.int64))])
        mask_zero = g.one("And", [g.one("Equal", [g.one("ReduceMin", [mask_in], keepdims=0), zero]),
                                  g.one("Equal", [g.one("ReduceMax", [mask_in], keepdims=0), zero])])
        use_fused = g.one("And", [no_past, mask_zero])

    if mlp_chunk_rows:
        i64 = lambda name, v: g.const(name, np.array(v, np.int64))  # noqa: E731
        chunk = i64("mlp_chunk", [mlp_chunk_rows])
        calls = g.one("Gather", [g.one("Shape", [x_in]), i64("mlp_dim1", [1])], axis=0)  # [1]: S
        # n = ⌈S / C⌉ chunks of ⌈S / n⌉ rows: the padding stays below n rows (4,098 tokens, C = 1024: 5 × 820).
        one = i64("mlp_one", [1])
        n_chunks = g.one("Div", [g.one("Add", [calls, i64("mlp_chunk_less1", [mlp_chunk_rows - 1])]), chunk])
        rows = g.one("Div", [g.one("Sub", [g.one("Add", [calls, n_chunks]), one]), n_chunks])
        pads = g.one("Concat", [i64("mlp_pads_head", [0, 0, 0, 0]), g.one("Sub", [g.one("Mul", [n_chunks, rows]), calls]),
                                i64("mlp_pads_tail", [0])], axis=0)
        chunked_shape = g.one("Concat", [n_chunks, rows, i64("mlp_width", [h])], axis=0)
        trips = g.one("Squeeze", [n_chunks, i64("mlp_axis0", [0])])
        merged_shape = i64("mlp_merged", [1, -1, h])
        start = i64("mlp_start", [0])

        def mlp_chunked(x: str, rows_fn) -> str:
            chunks = g.one("Reshape", [g.one("Pad", [x, pads]), chunked_shape])  # [n, C, H]
            body = g.loop_body(lambda it: rows_fn(g.one("Unsqueeze", [g.one("Gather", [chunks, it], axis=0), "mlp_axis0"])))
            stacked = g.one("Loop", [trips, ""], body=body)  # [n, 1, C, H]
            return g.one("Slice", [g.one("Reshape", [stacked, merged_shape]), start, calls, "mlp_dim1"])

    def linear(x: str, name: str, w: np.ndarray, b: np.ndarray = None, quantize: bool = True, graph_output: str = None) -> str:
        """x · w (+ b) with w as [in, out]."""
        if weights == "float32" or not quantize:
            if b is None:
                return g.one("MatMul", [x, g.const(f"w_{name}", w)], graph_output=graph_output)
            return g.one("Add", [g.one("MatMul", [x, g.const(f"w_{name}", w)]), g.const(f"b_{name}", b)], graph_output=graph_output)
        return _linear_per_tensor(g, x, name, w, b, graph_output)

    x = x_in
    # The first RMSNorm has no residual to fuse; written as the standard pattern onnxruntime fuses into
    # SimplifiedLayerNormalization (that op is not in the ONNX standard, so the checker would refuse it).
    ms = g.one("ReduceMean", [g.one("Pow", [x, g.const("two", np.array(2.0, np.float32))])], axes=[-1], keepdims=1)
    rms = g.one("Sqrt", [g.one("Add", [ms, g.const("eps", np.array(eps, np.float32))])])
    normed = g.one("Mul", [g.one("Div", [x, rms]), g.const("ln_in_0", sd["model.layers.0.input_layernorm.weight"])])
    for i in range(cfg.num_hidden_layers):
        p = f"model.layers.{i}."
        w_qkv = np.concatenate([sd[p + "self_attn.q_proj.weight"].T * scale, sd[p + "self_attn.k_proj.weight"].T,
                                sd[p + "self_attn.v_proj.weight"].T], axis=1)
        b_qkv = np.concatenate([sd[p + "self_attn.q_proj.bias"] * scale, sd[p + "self_attn.k_proj.bias"],
                                sd[p + "self_attn.v_proj.bias"]])
        qkv = linear(normed, f"qkv_{i}", w_qkv, b_qkv)
        qk, v = g.op("Split", [qkv, split_qkv], outputs=2, axis=-1)
        # Queries and keys rotate together: [B, S, (nh + kvh)·d] read as nh + kvh heads.
        qk = g.one("RotaryEmbedding", [qk, rope_start, cos, sin], domain=MS, interleaved=0, num_heads=nh + kvh)
        q, k = g.op("Split", [qk, split_qk], outputs=2, axis=-1)
        k = g.one("Transpose", [g.one("Reshape", [k, kv_heads])], perm=[0, 2, 1, 3])  # [B, kvh, S, d]
        v = g.one("Transpose", [g.one("Reshape", [v, kv_heads])], perm=[0, 2, 1, 3])
        k = g.one("Concat", [inputs[3 + 2 * i], k], graph_output=outputs[2 + 2 * i], axis=2)  # present_key_i
        v = g.one("Concat", [inputs[4 + 2 * i], v], graph_output=outputs[3 + 2 * i], axis=2)

        def batched(q=q, k=k, v=v) -> str:
            # Query head j·groups + r reads KV head j (the expand order of the PyTorch code).
            q = g.one("Transpose", [g.one("Reshape", [q, q_groups])], perm=[0, 2, 3, 1, 4])  # [B, kvh, groups, S, d]
            q = g.one("Reshape", [q, q_flat])  # [B, kvh, groups·S, d]
            scores = g.one("MatMul", [q, g.one("Transpose", [k], perm=[0, 1, 3, 2])])  # [B, kvh, groups·S, T]
            scores = g.one("Add", [g.one("Reshape", [scores, by_head]), mask_in])  # [B, nh, S, T]
            probs = g.one("Reshape", [g.one("Softmax", [scores], axis=-1), by_kv])
            attn = g.one("Reshape", [g.one("MatMul", [probs, v]), out_groups])  # [B, kvh, groups, S, d]
            return g.one("Reshape", [g.one("Transpose", [attn], perm=[0, 3, 1, 2, 4]), merged])  # [B, S, nh·d]

        def fused(q=q, k=k, v=v) -> str:
            def heads(t: str) -> str:  # [B, kvh, T, d] → [B, T, nh·d], KV head j repeated for its query heads
                if groups > 1:
                    t = g.one("Expand", [g.one("Unsqueeze", [t, axis2]), expand_groups])  # [B, kvh, groups, T, d]
                    t = g.one("Reshape", [t, heads_flat])  # [B, nh, T, d]
                return g.one("Reshape", [g.one("Transpose", [t], perm=[0, 2, 1, 3]), merged])
            # The scale is folded into the query weights already.
            return g.one("MultiHeadAttention", [q, heads(k), heads(v)], domain=MS, num_heads=nh, scale=1.0)

        if attention == "fused":
            attn = g.one("If", [use_fused], then_branch=g.branch(fused), else_branch=g.branch(batched))
        else:
            attn = batched()
        attn = linear(attn, f"o_{i}", sd[p + "self_attn.o_proj.weight"].T)
        normed, _, _, x = g.op("SkipSimplifiedLayerNormalization",
                               [attn, x, g.const(f"ln_post_{i}", sd[p + "post_attention_layernorm.weight"])],
                               outputs=4, domain=MS, epsilon=eps)
        w_gu = np.concatenate([sd[p + "mlp.gate_proj.weight"].T, sd[p + "mlp.up_proj.weight"].T], axis=1)
        w_down = sd[p + "mlp.down_proj.weight"].T

        def mlp_rows(x: str, i=i, w_gu=w_gu, w_down=w_down) -> str:
            gate, up = g.op("Split", [linear(x, f"gate_up_{i}", w_gu), split_mlp], outputs=2, axis=-1)
            act = g.one("Mul", [g.one("Mul", [gate, g.one("Sigmoid", [gate])]), up])
            if down == "per_token":
                return _linear_per_token(g, act, f"down_{i}", w_down)
            return linear(act, f"down_{i}", w_down, quantize=down == "per_tensor")

        if mlp_chunk_rows:
            # Every call through the loop (one chunk up to C tokens): a second MLP node on the same weights (an If
            # with the whole product for short calls) made onnxruntime prepack them twice, +230 MB at the 0.5B shapes.
            mlp = mlp_chunked(normed, mlp_rows)
        else:
            mlp = mlp_rows(normed)
        last = i == cfg.num_hidden_layers - 1
        gamma = sd["model.norm.weight"] if last else sd[f"model.layers.{i + 1}.input_layernorm.weight"]
        normed, _, _, x = g.op("SkipSimplifiedLayerNormalization", [mlp, x, g.const(f"ln_next_{i}", gamma)],
                               outputs=4, domain=MS, epsilon=eps, graph_output=outputs[1] if last else None)
    last_row = g.one("Slice", [normed, g.const("last_start", np.array([-logits_rows], np.int64)),
                               g.const("last_end", np.array([np.iinfo(np.int64).max], np.int64)),
                               g.const("last_axis", np.array([1], np.int64))])
    lm = sd["lm_head.weight"] if "lm_head.weight" in names else sd["model.embed_tokens.weight"]
    if int8_lm_head and logits_rows > 1:
        _linear_per_token(g, last_row, "lm_head", lm.T, graph_output=outputs[0])
    elif int8_lm_head:
        linear(last_row, "lm_head", lm.T, graph_output=outputs[0])
    else:
        g.nodes.append(helper.make_node("MatMul", [last_row, g.const("w_lm_head", lm.T)], [outputs[0]], name="lm_head"))

    f32 = TensorProto.FLOAT
    graph_inputs = [helper.make_tensor_value_info(x_in, f32, [1, "S", h]),
                    helper.make_tensor_value_info(mask_in, f32, [1, 1, "S", "T"]),
                    helper.make_tensor_value_info(pos_in, TensorProto.INT64, [3, 1, "S"])]
    graph_inputs += [helper.make_tensor_value_info(n, f32, [1, kvh, "P", d]) for n in inputs[3:]]
    graph_outputs = [helper.make_tensor_value_info(outputs[0], f32, [1, 1 if logits_rows == 1 else "R", cfg.vocab_size]),
                     helper.make_tensor_value_info(outputs[1], f32, [1, "S", h])]
    graph_outputs += [helper.make_tensor_value_info(n, f32, [1, kvh, "T", d]) for n in outputs[2:]]
    graph = helper.make_graph(g.nodes, "pixel_sail_decoder", graph_inputs, graph_outputs, initializer=g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid(MS, 1)],
                              producer_name="pixel-sail onnx_decoder")
    if down != "float32" or int8_lm_head:
        # Says which form this is; the "projections" form writes none, so its files stay byte for byte those
        # written before the other forms existed (models/default).
        helper.set_model_props(model, {"int8_down": down, "int8_lm_head": str(bool(int8_lm_head)).lower()})
    return model
