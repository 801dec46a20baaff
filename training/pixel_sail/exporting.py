"""Export library: ONNX graphs, config document, parity fixtures, checkpoint loading and the tiny random
model. Scripts under training/ (export.py, convert_official.py, bench_torch.py, long runs) use it from here,
never from each other."""
from __future__ import annotations

import base64
import inspect
import json
import os
from typing import Dict, List

import numpy as np

FORMAT = "pixel-sail-onnx"
FORMAT_VERSION = 1
OPSET = 17

TINY = dict(hidden_size=64, intermediate_size=160, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
            upsampler_channels=32, seg_hidden_states=32, max_long_side=256)


class UsageError(Exception):
    pass


# -- graph wrappers (keep the model code free of export concerns) ----------------------------------

def _wrappers(model):
    import torch

    n_layers = model.config.num_hidden_layers

    class Embed(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, input_ids, vision_patches, vision_patch_indices, vp_token_indices):
            out = self.m.embed(input_ids, vision_patches.unsqueeze(0), vision_patch_indices, vp_token_indices)
            if not self.m.config.prompt_injection:
                # The model ignores the slots, and the exporter would drop the unused input; every model keeps
                # the same graph contract (the ablation's no-injection variant runs in the same engine).
                out = out + (vp_token_indices * 0).unsqueeze(-1).to(out.dtype)
            return out

    class Decoder(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, inputs_embeds, attention_mask, position_ids, *past_flat):
            past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(n_layers)]
            hidden, presents = self.m.single_transformer.model(inputs_embeds, attention_mask, position_ids, past)
            logits = self.m.single_transformer.lm_head(hidden[:, -1:, :])
            flat = [t for kv in presents for t in kv]
            return (logits, hidden, *flat)

    class Upsampler(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, vision_hidden):
            return self.m.upsample(vision_hidden.unsqueeze(0))[0]

    class MaskHead(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.m = model

        def forward(self, seg_hidden, pixel_features):
            return self.m.mask_logits(self.m.project_seg(seg_hidden), pixel_features)

    return Embed(), Decoder(), Upsampler(), MaskHead()


INT8_DECODER = "decoder.int8.onnx"


def graph_io(config, int8: bool = False) -> Dict[str, Dict[str, List[str]]]:
    n = config.num_hidden_layers
    past = [f"past_{kind}_{i}" for i in range(n) for kind in ("key", "value")]
    present = [f"present_{kind}_{i}" for i in range(n) for kind in ("key", "value")]
    return {
        "embed": {"file": "embed.onnx", "inputs": ["input_ids", "vision_patches", "vision_patch_indices", "vp_token_indices"],
                  "outputs": ["inputs_embeds"]},
        "decoder": {"file": "decoder.onnx", "inputs": ["inputs_embeds", "attention_mask", "position_ids"] + past,
                    "outputs": ["logits", "last_hidden"] + present, **({"variants": {"int8": INT8_DECODER}} if int8 else {})},
        "upsampler": {"file": "upsampler.onnx", "inputs": ["vision_hidden"], "outputs": ["pixel_features"]},
        "mask_head": {"file": "mask_head.onnx", "inputs": ["seg_hidden", "pixel_features"], "outputs": ["mask_logits"]},
    }


def _onnx_export(module, args, path, inputs, outputs, dynamic_axes):
    import torch

    kwargs = dict(input_names=inputs, output_names=outputs, dynamic_axes=dynamic_axes, opset_version=OPSET,
                  do_constant_folding=True)
    if "dynamo" in inspect.signature(torch.onnx.export).parameters:
        kwargs["dynamo"] = False  # PyTorch ≥ 2.9 defaults to the dynamo exporter; the TorchScript one handles our graphs
    with torch.no_grad():
        torch.onnx.export(module, args, path, **kwargs)


# A serialized ONNX graph is one protobuf message, which cannot pass 2 GiB; graphs whose weights come near
# that (the 0.5B decoder in float32 with its LM head is 1.98 GB) keep their weights in a file beside them
# (ONNX external data). onnxruntime reads it from the graph's folder when the session is created from a path.
EXTERNAL_DATA_BYTES = 1536 * 1024 * 1024


def initializer_bytes(proto) -> int:
    return sum(len(t.raw_data) for t in proto.graph.initializer)


def external_data_file(graph_file: str) -> str:
    """Name of the weights file beside a graph saved with external data (relative to the graph's folder)."""
    return os.path.basename(graph_file) + ".data"


def save_graph(proto, path: str, external_threshold: int = None) -> bool:
    """Checks and saves a ModelProto; with more than ``external_threshold`` bytes of weights (default
    EXTERNAL_DATA_BYTES) they go to ``<file>.data`` beside it (one file, every tensor over 1 KiB). Returns
    whether external data was used."""
    import onnx

    if initializer_bytes(proto) <= (EXTERNAL_DATA_BYTES if external_threshold is None else external_threshold):
        onnx.checker.check_model(proto)
        onnx.save(proto, path)
        return False
    onnx.save_model(proto, path, save_as_external_data=True, all_tensors_to_one_file=True,
                    location=external_data_file(path), size_threshold=EXTERNAL_TENSOR_MIN)
    onnx.checker.check_model(path)  # by path: the checker reads the weights from the file, with no 2 GiB limit
    return True


# onnx.save_model's size_threshold: a tensor goes to the external file when sys.getsizeof(its raw bytes) reaches it.
EXTERNAL_TENSOR_MIN = 1024


class ExternalDataWriter:
    """The initializer sink of a graph built weight by weight (onnx_decoder.build_decoder_from): each tensor's
    bytes go to ``<graph>.data`` as soon as it is made, and the graph keeps only a reference, so building a
    graph costs its largest tensor, not all of them. ``finish`` then saves the graph exactly as ``save_graph``
    would have saved the same graph built in memory: with external data (same file name, same order and
    offsets, the same tensors left inline) past EXTERNAL_DATA_BYTES, else with the weights read back inline.
    The streaming converter's test holds the two to byte equality."""

    def __init__(self, graph_path: str) -> None:
        self.graph_path = graph_path
        self.location = external_data_file(graph_path)
        self.data_path = os.path.join(os.path.dirname(graph_path), self.location)
        self._fh = open(self.data_path, "wb")
        self.total = 0  # bytes of every initializer, inline or not (initializer_bytes of the whole graph)

    def __call__(self, name: str, value: np.ndarray):
        import sys

        from onnx import TensorProto, mapping, numpy_helper

        self.total += value.nbytes
        if sys.getsizeof(b"") + value.nbytes < EXTERNAL_TENSOR_MIN:
            return numpy_helper.from_array(value, name)
        t = TensorProto()
        t.dims.extend(value.shape)
        t.name = name
        t.data_type = mapping.NP_TYPE_TO_TENSOR_TYPE[value.dtype]  # as numpy_helper.from_array
        offset = self._fh.tell()
        self._fh.write(np.ascontiguousarray(value).reshape(-1).view(np.uint8).data)
        # What onnx.external_data_helper.set_external_data writes, in its order.
        t.data_location = TensorProto.EXTERNAL
        for key, val in (("location", self.location), ("offset", offset), ("length", value.nbytes)):
            entry = t.external_data.add()
            entry.key, entry.value = key, str(val)
        return t

    def finish(self, proto, external_threshold: int = None) -> bool:
        """Saves ``proto`` (built with this sink) at the graph path; returns whether external data was kept."""
        import onnx
        from onnx import TensorProto

        self._fh.close()
        if self.total > (EXTERNAL_DATA_BYTES if external_threshold is None else external_threshold):
            onnx.save(proto, self.graph_path)
            onnx.checker.check_model(self.graph_path)
            return True
        # Small enough for one protobuf: read the weights back inline (as numpy_helper.from_array had them).
        with open(self.data_path, "rb") as fh:
            for t in proto.graph.initializer:
                if t.data_location != TensorProto.EXTERNAL:
                    continue
                info = {e.key: e.value for e in t.external_data}
                fh.seek(int(info["offset"]))
                t.raw_data = fh.read(int(info["length"]))
                del t.external_data[:]
                t.ClearField("data_location")
        os.remove(self.data_path)
        onnx.checker.check_model(proto)
        onnx.save(proto, self.graph_path)
        return False

    def abandon(self) -> None:
        if not self._fh.closed:
            self._fh.close()


def _without_decoder(model):
    """A view of ``model`` without decoder layers or LM head, sharing every other parameter (no copy). The
    embed, upsampler and mask-head graphs are traced from it: they use neither, and the tracer numbers the
    graph's values after the module's parameters, so tracing the full model or one built without its decoder
    (the streaming converter's) would name the same weights differently."""
    import copy

    import torch

    def shallow(module, **replace):
        m = copy.copy(module)
        m._modules = dict(module._modules)
        m._modules.update(replace)
        return m

    st = model.single_transformer
    body = shallow(st.model, layers=torch.nn.ModuleList())
    return shallow(model, single_transformer=shallow(st, model=body, lm_head=torch.nn.Identity()))


def _export_embed(model, out_dir: str) -> None:
    import torch

    cfg = model.config
    io = graph_io(cfg)
    embed = _wrappers(_without_decoder(model))[0]
    p2 = 3 * cfg.patch_size ** 2
    s, n = 5, 6
    _onnx_export(embed, (torch.zeros(1, s, dtype=torch.long), torch.randn(n, p2), torch.full((1, s), -1, dtype=torch.long),
                         torch.full((1, s), -1, dtype=torch.long)),
                 os.path.join(out_dir, "embed.onnx"), io["embed"]["inputs"], io["embed"]["outputs"],
                 {"input_ids": {1: "S"}, "vision_patches": {0: "N"}, "vision_patch_indices": {1: "S"},
                  "vp_token_indices": {1: "S"}, "inputs_embeds": {1: "S"}})
    finish_embed_graph(os.path.join(out_dir, "embed.onnx"), cfg.vocab_size, cfg.hidden_size)


# An embed graph with more weights than this keeps them in embed.onnx.data: onnxruntime maps external weights
# from the file instead of copying them, so only the table rows a model run reads become resident (the 0.5B
# worker's memory after loading: 1,168 → 907 MB, and 2,713 → 2,485 MB at its peak, a 1024-px image's
# features; in process, same image).
EMBED_EXTERNAL_BYTES = 64 * 1024 * 1024


def finish_embed_graph(path: str, vocab: int, hidden: int) -> None:
    """The traced embed graph as it ships: its token table in float16 when that is lossless
    (half_embedding_table), its weights beside it when they are large (EMBED_EXTERNAL_BYTES). A small float32
    table leaves the file as traced."""
    import onnx

    model = onnx.load(path)
    halved = half_embedding_table(model, vocab, hidden)
    external = initializer_bytes(model) > EMBED_EXTERNAL_BYTES
    if halved or external:
        save_graph(model, path, external_threshold=EMBED_EXTERNAL_BYTES)


# float16's smallest subnormal step is 2^-24: a table whose every value float16 holds to within half of it
# loses nothing a float32 sum of a few terms would keep.
HALF_TABLE_MAX_ERROR = 2.0 ** -25


def half_embedding_table(model, vocab: int, hidden: int) -> bool:
    """Stores the token embedding table of an embed graph (a ModelProto, changed in place) in float16 (a Gather of float16 rows, then a Cast)
    when float16 holds every value of it: half the bytes (275 MB less at the 0.5B shapes, 620 MB at 3B) and
    the same embeddings. Checkpoints trained in bfloat16, as the official ones are, qualify: bfloat16's 8-bit
    significand fits float16's 11 bits across float16's range, so only values below 6e-5 round, by at most
    2^-25. A table trained in float32 does not, and is left as it is. Returns whether the table was changed."""
    import onnx
    from onnx import helper, numpy_helper

    g = model.graph
    tables = [t for t in g.initializer if list(t.dims) == [vocab, hidden] and t.data_type == onnx.TensorProto.FLOAT]
    # The patch and prompt embeddings have other shapes; a vocabulary as wide as the model would be ambiguous.
    if len(tables) != 1:
        return False
    table = tables[0]
    users = [n for n in g.node if table.name in n.input]
    if not users or any(n.op_type != "Gather" or list(n.input).index(table.name) != 0 for n in users):
        return False
    # Read in place and checked in blocks of rows: the 3B table is 1.24 GB, and whole-table temporaries took the
    # converter's peak from 5.2 to 7.0 GB.
    values = np.frombuffer(table.raw_data, dtype="<f4").reshape(vocab, hidden) if table.raw_data else numpy_helper.to_array(table)
    half = np.empty((vocab, hidden), np.float16)
    for r in range(0, vocab, 8192):
        block = values[r:r + 8192]
        half[r:r + 8192] = block
        h = half[r:r + 8192]
        if not np.all(np.isfinite(h)) or float(np.max(np.abs(h.astype(np.float32) - block), initial=0.0)) > HALF_TABLE_MAX_ERROR:
            return False
    del values
    new_table = numpy_helper.from_array(half, table.name + "_float16")
    del half
    g.initializer.remove(table)
    g.initializer.append(new_table)
    for i, node in enumerate(list(users)):
        rows = f"{node.output[0]}_float16"
        cast = helper.make_node("Cast", [rows], [node.output[0]], name=f"{node.name or 'gather'}_to_float32_{i}", to=onnx.TensorProto.FLOAT)
        node.input[0] = new_table.name
        node.output[0] = rows
        g.node.insert(list(g.node).index(node) + 1, cast)
    return True


def _export_pixel_graphs(model, out_dir: str) -> None:
    """upsampler.onnx and mask_head.onnx."""
    import torch

    cfg = model.config
    io = graph_io(cfg)
    _, _, upsampler, mask_head = _wrappers(_without_decoder(model))
    _onnx_export(upsampler, (torch.randn(2, 3, cfg.hidden_size),), os.path.join(out_dir, "upsampler.onnx"),
                 io["upsampler"]["inputs"], io["upsampler"]["outputs"],
                 {"vision_hidden": {0: "gh", 1: "gw"}, "pixel_features": {0: "ph", 1: "pw"}})
    f = cfg.upsample_factor
    _onnx_export(mask_head, (torch.randn(2, cfg.hidden_size), torch.randn(2 * f, 3 * f, cfg.seg_hidden_states)),
                 os.path.join(out_dir, "mask_head.onnx"), io["mask_head"]["inputs"], io["mask_head"]["outputs"],
                 {"seg_hidden": {0: "Q"}, "pixel_features": {0: "ph", 1: "pw"}, "mask_logits": {0: "Q", 1: "ph", 2: "pw"}})


def export_graphs(model, out_dir: str, decoder_graph: str = "built", int8: bool = False, attention: str = "matmul",
                  int8_form: str = "projections", logits_rows: int = 1, mlp_chunk_rows: int = 0) -> None:
    """decoder_graph: "built" (onnx_decoder.py, the shipped form) or "torch" (TorchScript export, a cross-check);
    int8_form: what the int8 variant quantizes (onnx_decoder.INT8_FORMS); logits_rows: how many last rows the LM
    head reads (onnx_decoder.build_decoder_from; the TorchScript decoder has one); mlp_chunk_rows: the most rows
    one MLP product takes (0: all)."""
    import torch

    cfg = model.config
    io = graph_io(cfg)
    decoder = _wrappers(model)[1]
    s, past_len = 5, 3
    _export_embed(model, out_dir)
    kvh, hd = cfg.num_key_value_heads, cfg.head_dim
    past = []
    axes = {"inputs_embeds": {1: "S"}, "attention_mask": {2: "S", 3: "T"}, "position_ids": {2: "S"},
            "last_hidden": {1: "S"}}
    for name in io["decoder"]["inputs"][3:]:
        past.append(torch.randn(1, kvh, past_len, hd))
        axes[name] = {2: "P"}
    for name in io["decoder"]["outputs"][2:]:
        axes[name] = {2: "T"}
    if decoder_graph == "torch":
        if logits_rows != 1 or mlp_chunk_rows:
            raise UsageError("the TorchScript decoder computes the last row's logits and the MLP whole (logits_rows 1, mlp_chunk_rows 0)")
        _onnx_export(decoder, (torch.randn(1, s, cfg.hidden_size), torch.zeros(1, 1, s, s + past_len),
                               torch.zeros(3, 1, s, dtype=torch.long), *past),
                     os.path.join(out_dir, "decoder.onnx"), io["decoder"]["inputs"], io["decoder"]["outputs"], axes)
    else:
        from pixel_sail.onnx_decoder import build_decoder

        proto = build_decoder(model, io["decoder"]["inputs"], io["decoder"]["outputs"], attention=attention, logits_rows=logits_rows,
                              mlp_chunk_rows=mlp_chunk_rows)
        save_graph(proto, os.path.join(out_dir, "decoder.onnx"))
        del proto
    if int8:
        from pixel_sail.onnx_decoder import build_decoder

        proto = build_decoder(model, io["decoder"]["inputs"], io["decoder"]["outputs"], weights="int8", attention=attention,
                              int8_form=int8_form, logits_rows=logits_rows, mlp_chunk_rows=mlp_chunk_rows)
        save_graph(proto, os.path.join(out_dir, INT8_DECODER))
        del proto
    _export_pixel_graphs(model, out_dir)


def config_document(cfg, name: str, extra: dict = None, int8: bool = False, attention: str = "matmul",
                    logits_rows: int = 1) -> dict:
    """config.json. ``attention`` "fused" is recorded as graphs.decoder.image_attention: the engine then lets
    onnxruntime's memory arena serve the decoder (with the batched attention a 1024-px prefill's score tensors
    are ~1 GB each, and an arena keeps every such block). ``logits_rows`` above 1 is recorded as
    graphs.decoder.logits_rows: the engine then checks a drafted answer in the prompt's pass."""
    from pixel_sail.config import CHAT_LAYOUT, IMAGENET_MEAN, IMAGENET_STD
    from pixel_sail.prompts import engine_prompts

    doc = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "name": name,
        "model": cfg.to_dict(),
        "image": {"patch_size": cfg.patch_size, "max_long_side": cfg.max_long_side, "mean": list(IMAGENET_MEAN),
                  "std": list(IMAGENET_STD), "resize": "bilinear", "prompt_mask_resize": "nearest",
                  "prompt_overlap": cfg.prompt_overlap,
                  "upsample_factor": cfg.upsample_factor},
        "chat": CHAT_LAYOUT,
        "prompts": engine_prompts(),
        "graphs": graph_io(cfg, int8),
    }
    if attention == "fused":
        doc["graphs"]["decoder"]["image_attention"] = "fused"
    if logits_rows > 1:
        doc["graphs"]["decoder"]["logits_rows"] = logits_rows
    if extra:
        doc.update(extra)
    return doc


# -- parity fixtures ---------------------------------------------------------------------------------

def _b64(array) -> dict:
    a = np.ascontiguousarray(np.asarray(array, dtype=np.float32))
    return {"dims": list(a.shape), "dtype": "float32", "data": base64.b64encode(a.tobytes()).decode("ascii")}


def fixture_image(width: int = 80, height: int = 48, seed: int = 7) -> np.ndarray:
    """A deterministic RGB test picture with flat regions, edges and noise (sizes not multiples of 16 on purpose? no:
    80×48 needs no resize, so preprocessing parity is exact without depending on a resampler)."""
    rng = np.random.RandomState(seed)
    img = np.zeros((height, width, 3), dtype=np.uint8)
    img[...] = (rng.rand(height, width, 3) * 60 + 90).astype(np.uint8)
    img[8:30, 10:40] = (220, 40, 30)
    yy, xx = np.mgrid[:height, :width]
    img[(yy - 28) ** 2 + (xx - 58) ** 2 < 13 ** 2] = (30, 60, 210)
    return img


def write_fixtures(model, tokenizer, out_dir: str) -> None:
    import torch
    from PIL import Image
    from pixel_sail.model import attention_mask_for, image_block_length, position_ids_for
    from pixel_sail.predictor import Predictor
    from pixel_sail.preprocess import image_to_patches, prompt_slots, resized_size

    cfg = model.config
    pdir = os.path.join(out_dir, "parity")
    os.makedirs(pdir, exist_ok=True)
    img = fixture_image()
    Image.fromarray(img).save(os.path.join(pdir, "image.png"))
    h0, w0 = img.shape[:2]
    prompt_mask = np.zeros((h0, w0), dtype=bool)
    prompt_mask[30:44, 50:70] = True
    big_mask = np.zeros((h0, w0), dtype=bool)
    big_mask[:, 40:] = True
    slots = [3, 9]
    patches, gh, gw = image_to_patches(img, cfg.patch_size, cfg.max_long_side)
    new_w, new_h = resized_size(w0, h0, cfg.patch_size, cfg.max_long_side)
    slot_ids = prompt_slots([prompt_mask, big_mask], slots, new_w, new_h, cfg.patch_size, cfg.prompt_overlap)
    Image.fromarray(prompt_mask.astype(np.uint8) * 255).save(os.path.join(pdir, "prompt_small.png"))
    Image.fromarray(big_mask.astype(np.uint8) * 255).save(os.path.join(pdir, "prompt_large.png"))

    pred = Predictor(model, tokenizer)
    state = pred.set_image(img, [prompt_mask, big_mask], slots)
    block = image_block_length(gh, gw)
    with torch.no_grad():
        # Image block pieces the engine must reproduce step by step.
        ids = [cfg.token_id("<vision>")] + [cfg.token_id("<vpatch>")] * (gh * gw) + [cfg.token_id("</vision>")]
        vpi = [-1] + list(range(gh * gw)) + [-1]
        vti = [-1] + [int(s) for s in slot_ids] + [-1]
        embeds = model.embed(torch.tensor([ids]), torch.from_numpy(patches)[None], torch.tensor([vpi]), torch.tensor([vti]))
        hidden, logits_all, _ = model.decode(embeds, attention_mask_for(block, 0, block), position_ids_for(block, gh, gw))
        block_last_logits = logits_all[0, -1]
        prompt_text = "Please segment the red box in this image."
        answer = pred.generate(state, prompt_text, max_new_tokens=8)
        # Teacher-forced [SEG] (the reference's V-T RES fallback) so the mask path is always exercised.
        forced_state = pred.set_image(img, [prompt_mask, big_mask], slots)
        forced = pred.generate(forced_state, prompt_text, max_new_tokens=0, answer_prefix="It is [SEG].")
        prompt_ids = pred.prompt_ids(prompt_text)
        forced_ids = prompt_ids + tokenizer.encode("It is [SEG].")

    # Pictures the resize rule changes (one reduced, one enlarged in one axis and reduced in the other): the
    # engine must produce Pillow's bilinear result exactly.
    resized = []
    for k, (rw, rh) in enumerate([(333, 201), (70, 45)]):
        pic = fixture_image(rw, rh, seed=11 + k) if min(rw, rh) >= 48 else fixture_image(80, 48, seed=11 + k)[:rh, :rw]
        Image.fromarray(pic).save(os.path.join(pdir, f"resize_{k}.png"))
        rp, rgh, rgw = image_to_patches(pic, cfg.patch_size, cfg.max_long_side)
        resized.append({"file": f"resize_{k}.png", "width": rw, "height": rh, "gh": rgh, "gw": rgw, "vision_patches": _b64(rp)})
    fidelity = _fidelity_fixture(model, tokenizer, pdir)
    texts = ["Please segment the large red circle left of the blue square in this image.",
             "<Prompt3>: a small green striped triangle, partly hidden.  Ünïcödé ✓ 42 tabs\tand\nnewlines",
             "<|im_start|>user\nWhat is <Prompt0>?<|im_end|>\nIt is [SEG].<|endoftext|>",
             "Digits 2024-11-29, 3.14159 and 40512; café naïve 東京 中文 😀👍🏽 ١٢٣ — «quotes»\u00a0nbsp"]
    fixtures = {
        "image": {"file": "image.png", "width": w0, "height": h0, "gh": gh, "gw": gw},
        "prompt_masks": [{"file": "prompt_small.png", "slot": slots[0]}, {"file": "prompt_large.png", "slot": slots[1]}],
        "vision_patches": _b64(patches),
        "slot_ids": [int(s) for s in slot_ids],
        "image_block": {"input_ids": ids, "vision_patch_indices": vpi, "vp_token_indices": vti,
                        "position_ids": position_ids_for(block, gh, gw).view(3, -1).tolist(),
                        "inputs_embeds": _b64(embeds[0]), "last_hidden": _b64(hidden[0]),
                        "last_logits": _b64(block_last_logits)},
        "vision_hidden": _b64(state.vision_hidden),
        "pixel_features": _b64(state.pixel_features),
        "generate": {"prompt": prompt_text, "prompt_ids": prompt_ids, "max_new_tokens": 8,
                     "output_ids": answer.token_ids},
        "forced_seg": {"input_ids": forced_ids, "seg_hidden": _b64(forced.seg_hidden),
                       "mask_logits": _b64(forced.mask_logits),
                       "mask_area": int(forced.masks[0].sum()) if len(forced.masks) else 0},
        "tokenizer": [{"text": t, "ids": tokenizer.encode(t)} for t in texts],
        "resized": resized,
        "fidelity": fidelity,
    }
    with open(os.path.join(pdir, "fixtures.json"), "w", encoding="utf-8") as fh:
        json.dump(fixtures, fh)


FIDELITY_PROMPT = "Please segment the 2nd object (id 40512) near <Prompt5>: café, 中文, 😀 in this image."


def fidelity_masks(width: int, height: int) -> list:
    """Overlapping prompt masks at the picture's own odd size: a disc, a thin slanted bar (a few pixels wide,
    so nearest sampling decides which patches it reaches) and a large block; their slots out of order."""
    yy, xx = np.mgrid[:height, :width]
    disc = (yy - height * 0.45) ** 2 + (xx - width * 0.3) ** 2 < (min(width, height) * 0.22) ** 2
    bar = np.abs((yy - height * 0.2) - 0.55 * (xx - width * 0.1)) < 2.5
    block = (yy > height * 0.35) & (xx > width * 0.25) & (xx < width * 0.8)
    return [disc, bar, block]


FIDELITY_SLOTS = [5, 0, 14]


def _fidelity_fixture(model, tokenizer, pdir: str) -> dict:
    """What the official rules must give on inputs where they bite: a non-square picture that the resize rule
    shrinks, overlapping prompt masks at its odd size (nearest-resized as Pillow does, overlap order from the
    config), and a prompt with digits and non-ASCII text (Qwen2's split rule for a converted tokenizer)."""
    from PIL import Image
    from pixel_sail.predictor import Predictor
    from pixel_sail.preprocess import prompt_slots, resized_size

    cfg = model.config
    w0, h0 = cfg.max_long_side + 29, cfg.max_long_side // 2 + 37  # odd, non-square, shrunk on both axes
    pic = fixture_image(w0, h0, seed=23)
    Image.fromarray(pic).save(os.path.join(pdir, "fidelity.png"))
    masks = fidelity_masks(w0, h0)
    files = []
    for k, m in enumerate(masks):
        files.append({"file": f"fidelity_prompt_{k}.png", "slot": FIDELITY_SLOTS[k]})
        Image.fromarray(m.astype(np.uint8) * 255).save(os.path.join(pdir, files[-1]["file"]))
    new_w, new_h = resized_size(w0, h0, cfg.patch_size, cfg.max_long_side)
    slot_ids = prompt_slots(masks, FIDELITY_SLOTS, new_w, new_h, cfg.patch_size, cfg.prompt_overlap)
    pred = Predictor(model, tokenizer)
    state = pred.set_image(pic, masks, FIDELITY_SLOTS)
    answer = pred.generate(state, FIDELITY_PROMPT, max_new_tokens=6)
    forced = pred.generate(pred.set_image(pic, masks, FIDELITY_SLOTS), FIDELITY_PROMPT, max_new_tokens=0, answer_prefix="It is [SEG].")
    prompt_ids = pred.prompt_ids(FIDELITY_PROMPT)
    return {"image": {"file": "fidelity.png", "width": w0, "height": h0, "gh": state.gh, "gw": state.gw},
            "prompt_masks": files, "prompt_overlap": cfg.prompt_overlap, "slot_ids": [int(v) for v in slot_ids],
            # No feature maps here (megabytes at 1024 px): the mask logits depend on all of them.
            "generate": {"prompt": FIDELITY_PROMPT, "prompt_ids": prompt_ids, "max_new_tokens": 6, "output_ids": answer.token_ids},
            "forced_seg": {"input_ids": prompt_ids + tokenizer.encode("It is [SEG]."), "mask_logits": _b64(forced.mask_logits)}}


# -- main ------------------------------------------------------------------------------------------------

def build_random_model(seed: int, tokenizer_path: str = None, **overrides):
    import torch
    from pixel_sail.config import PixelSailConfig
    from pixel_sail.model import PixelSail
    from pixel_sail.prompts import base_corpus
    from pixel_sail.tokenizer import Tokenizer, special_token_ids, tokenizer_json, train_bpe

    if tokenizer_path:
        tok_doc = json.load(open(tokenizer_path, encoding="utf-8"))
    else:
        vocab, merges = train_bpe(base_corpus(), 512)
        tok_doc = tokenizer_json(vocab, merges)
    tok = Tokenizer(tok_doc)
    torch.manual_seed(seed)
    cfg = PixelSailConfig(vocab_size=len(tok), token_ids=special_token_ids(tok), **{**TINY, **overrides})
    model = PixelSail(cfg).eval()
    # Random init with visible structure: larger weights so parity compares meaningful numbers.
    with torch.no_grad():
        for p in model.parameters():
            if p.dim() >= 2:
                p.normal_(0, 0.08)
    return model, tok, tok_doc


def load_checkpoint(path: str):
    import torch
    from pixel_sail.config import PixelSailConfig
    from pixel_sail.model import PixelSail
    from pixel_sail.tokenizer import Tokenizer

    ckpt = torch.load(path, map_location="cpu")
    for key in ("config", "model", "tokenizer"):
        if key not in ckpt:
            raise UsageError(f"checkpoint {path} has no '{key}' entry (expected a file written by training/train.py)")
    cfg = PixelSailConfig.from_dict(ckpt["config"])
    model = PixelSail(cfg)
    state = {k: v for k, v in ckpt["model"].items() if not k.startswith("distill")}
    model.load_state_dict(state, strict=True)
    return model.eval(), Tokenizer(ckpt["tokenizer"]), ckpt["tokenizer"]


def export_model_dir(model, tok, tok_doc, out: str, name: str, fixtures: bool = True, extra: dict = None,
                     decoder_graph: str = "built", int8: bool = False, attention: str = "matmul", int8_form: str = "projections",
                     logits_rows: int = 1, mlp_chunk_rows: int = 0) -> None:
    """Writes into a temporary sibling directory and renames it into place, so a failed export never
    leaves a directory that looks complete."""
    from pixel_sail.atomic_dir import atomic_directory

    parent = os.path.dirname(os.path.abspath(out)) or "."
    os.makedirs(parent, exist_ok=True)
    if not os.access(parent, os.W_OK):
        raise UsageError(f"output directory {parent} is not writable")
    with atomic_directory(out, keep=("MODEL_CARD.md",)) as tmp:
        if decoder_graph == "torch" and attention != "matmul":
            raise UsageError("the fused attention exists only in the built decoder, not with --torch-decoder")
        export_graphs(model, tmp, decoder_graph, int8, attention, int8_form, logits_rows=logits_rows, mlp_chunk_rows=mlp_chunk_rows)
        _write_tokenizer_files(tmp, tok_doc)
        if fixtures:
            write_fixtures(model, tok, tmp)
        with open(os.path.join(tmp, "config.json"), "w", encoding="utf-8") as fh:
            json.dump(config_document(model.config, name, extra, int8, attention, logits_rows), fh, indent=2)


def _write_tokenizer_files(folder: str, tok_doc: dict) -> None:
    from pixel_sail.tokenizer import tokenizer_config_json

    with open(os.path.join(folder, "tokenizer.json"), "w", encoding="utf-8") as fh:
        json.dump(tok_doc, fh, ensure_ascii=False)
    with open(os.path.join(folder, "tokenizer_config.json"), "w", encoding="utf-8") as fh:
        json.dump(tokenizer_config_json(), fh, indent=2)
