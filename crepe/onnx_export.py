"""A trained model in ONNX: the network as one ``.onnx`` file and the description a runtime needs beside it.

MXNet's own converter (mx2onnx, MXNet 1.9.1) writes the graph, with two repairs:

1. Every 1-D Gluon layer (``Conv1D``, ``MaxPool1D``) writes ``layout="NCW"`` into the exported symbol, and
   mx2onnx refuses any layout but NCHW/NCDHW. ONNX's ``Conv`` and ``MaxPool`` are N-dimensional and read
   (N, C, W) as they are, so the attribute is removed from the symbol's JSON before conversion
   (:func:`strip_layout`); the converter then writes ``Conv`` with ``kernel_shape=[7]``.
2. mx2onnx lists every weight as a graph *input* as well as an initializer, so a runtime could not fold
   them as constants (and ONNX Runtime says so). :func:`clean_graph` keeps them as initializers only,
   names the batch axis, and appends a ``Softmax``: the graph answers probabilities, as ``predict`` does.

The converter has translations up to opset 13 only but stamps the newest opset the installed ``onnx``
knows (21 for onnx 1.16), under which its ``ReduceMax`` with an ``axes`` attribute is invalid; it is
run at opset :data:`OPSET` and the whole model is then checked by ``onnx.checker`` at that opset.
"""
import json
import tempfile
from pathlib import Path
from unittest import mock

import numpy as np

from .files import atomic_write, write_json
from .quantise import FRAME_LENGTH

__all__ = ["OPSET", "IR_VERSION", "INPUT", "OUTPUT", "LAYOUT_OPS", "strip_layout", "clean_graph", "to_onnx",
           "describe", "write_onnx", "description_path"]

#: The opset the model is written in (mx2onnx's newest translations), and the ONNX IR version.
OPSET, IR_VERSION = 13, 8
#: The graph's input (index frames or token ids) and output (class probabilities).
INPUT, OUTPUT = "data", "probabilities"
#: Symbol operators that carry ``layout="NCW"`` from a 1-D Gluon layer.
LAYOUT_OPS = ("Convolution", "Pooling")
#: Per family: the input's element type, its shape (None: any size) and the names of its dynamic axes.
INPUTS = {"crepe": ("int32", (None, FRAME_LENGTH), ("batch",)),
          "word": ("int64", (None, None), ("batch", "tokens"))}


def strip_layout(symbol_json):
    """The symbol JSON with ``layout`` removed from every 1-D convolution and pooling node.

    Parameters
    ----------
    symbol_json : dict
        The parsed ``*-symbol.json`` of ``HybridBlock.export``.

    Returns
    -------
    dict
        A copy; other nodes and attributes unchanged.

    Examples
    --------
    >>> graph = {"nodes": [{"op": "Convolution", "attrs": {"kernel": "(7,)", "layout": "NCW"}},
    ...                    {"op": "relu", "attrs": {"layout": "x"}}]}
    >>> [node["attrs"] for node in strip_layout(graph)["nodes"]]
    [{'kernel': '(7,)'}, {'layout': 'x'}]
    """
    graph = json.loads(json.dumps(symbol_json))
    for node in graph["nodes"]:
        attrs = node.get("attrs", {})
        if node["op"] in LAYOUT_OPS and attrs.get("layout") == "NCW":
            del attrs["layout"]
    return graph


def clean_graph(model, classes, axes):
    """Weights as initializers only, named dynamic axes, and a Softmax output named :data:`OUTPUT`.

    Parameters
    ----------
    model : onnx.ModelProto
        As mx2onnx writes it (one input, one output: the logits).
    classes : int
    axes : tuple of str
        Names of the input's leading axes, e.g. ("batch",) or ("batch", "tokens"); the others keep their size.

    Returns
    -------
    onnx.ModelProto
        The same model, changed in place.

    Examples
    --------
    >>> from onnx import TensorProto, helper, numpy_helper
    >>> w = numpy_helper.from_array(np.ones((2, 3), np.float32), "w")
    >>> graph = helper.make_graph([helper.make_node("MatMul", ["x", "w"], ["y"])], "g",
    ...     [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in (("x", [1, 2]), ("w", [2, 3]))],
    ...     [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 3])], [w])
    >>> model = clean_graph(helper.make_model(graph), 3, ("batch", "features"))
    >>> [i.name for i in model.graph.input], [o.name for o in model.graph.output]
    (['x'], ['probabilities'])
    """
    from onnx import TensorProto, helper

    graph = model.graph
    weights = {tensor.name for tensor in graph.initializer}
    inputs = [value for value in graph.input if value.name not in weights]
    del graph.input[:]
    graph.input.extend(inputs)
    for dim, name in zip(graph.input[0].type.tensor_type.shape.dim, axes):
        dim.dim_param = name
    logits = graph.output[0].name
    graph.node.append(helper.make_node("Softmax", [logits], [OUTPUT], axis=1))
    del graph.output[:]
    graph.output.append(helper.make_tensor_value_info(OUTPUT, TensorProto.FLOAT, [axes[0], classes]))
    return model


def _symbol_and_params(net):
    """The exported symbol (layout stripped) and its parameters, through a temporary folder."""
    import mxnet as mx

    from .inference import export

    with tempfile.TemporaryDirectory() as folder:
        symbol_path, params_path = export(net, Path(folder) / "net")
        graph = strip_layout(json.loads(symbol_path.read_text(encoding="utf-8")))
        params = {name.split(":", 1)[1]: value for name, value in mx.nd.load(str(params_path)).items()}
    return mx.sym.load_json(json.dumps(graph)), params


def to_onnx(net):
    """The network as a checked ``onnx.ModelProto`` that answers class probabilities.

    Parameters
    ----------
    net : Crepe or WordCNN
        Trained (or initialised) on the CPU.

    Returns
    -------
    onnx.ModelProto
        Input :data:`INPUT` (batch, length), output :data:`OUTPUT` (batch, classes); opset :data:`OPSET`.
    """
    import onnx
    from mxnet.onnx.mx2onnx._export_onnx import MXNetGraph
    from onnx import helper

    from .families import family_of

    family = family_of(net).name
    dtype, shape, axes = INPUTS[family]
    symbol, params = _symbol_and_params(net)
    example = (1, *(8 if size is None else size for size in shape[1:]))                   # a batch of one
    with mock.patch("onnx.checker.check_graph"):   # it checks against the newest opset: see the module docstring
        graph = MXNetGraph().create_onnx_graph_proto(
            symbol, params, [example], [helper.np_dtype_to_tensor_dtype(np.dtype(dtype))], opset_version=OPSET,
            dynamic=True, dynamic_input_shapes=[shape])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION,
                              producer_name="crepe (mx2onnx, MXNet 1.9.1)")
    model = clean_graph(model, net.num_classes, axes)
    onnx.checker.check_model(model, full_check=True)
    return model


def describe(net, config):
    """What a runtime needs besides the graph: classes, input, and how a text becomes that input.

    Parameters
    ----------
    net : Crepe or WordCNN
    config : dict
        The model directory's ``config.json`` (``classes``).

    Returns
    -------
    dict
        ``family``, ``classes``, ``input`` (name, dtype, axes), ``output``; for Crepe ``alphabet``,
        ``frame_length`` and the quantisation rules; for the word CNN ``vocabulary`` (id -> token),
        ``unknown``, ``padding``, ``min_length``, ``max_length`` and the ``token_pattern``.

    Examples
    --------
    >>> from crepe.model import Crepe
    >>> d = describe(Crepe(2), {"classes": ["a", "b"]})
    >>> d["family"], d["frame_length"], d["input"]["dtype"], d["output"]
    ('crepe', 1014, 'int32', 'probabilities')
    """
    from .families import family_of

    family = family_of(net).name
    dtype, _, axes = INPUTS[family]
    description = {"format": 1, "family": family, "classes": list(config["classes"]), "opset": OPSET,
                   "input": {"name": INPUT, "dtype": dtype, "axes": list(axes)}, "output": OUTPUT}
    if family == "crepe":
        from .quantise import ALPHABET, FRAME_LENGTH

        description.update(alphabet=ALPHABET, frame_length=FRAME_LENGTH, encoding=(
            "lower-case ASCII A-Z only; keep the last frame_length code points; write them last first; "
            "index i+1 for alphabet[i], 0 for any other code point and for padding at the end"))
    else:
        from .words import _TOKEN

        vocab = net.vocab
        description.update(vocabulary=list(vocab.idx_to_token), unknown=vocab[vocab.unknown_token],
                           padding=vocab[vocab.padding_token], min_length=5, max_length=200,
                           token_pattern=_TOKEN.pattern, encoding=(
                               "lower-case, find every token_pattern match, keep the first max_length, id of each "
                               "(unknown if absent), pad with padding to min_length; run one text per batch, or "
                               "texts of equal length: padding windows are not masked in the graph"))
    return description


def description_path(model_path):
    """Where the description of ``model_path`` goes: beside it, ``.json`` for ``.onnx``.

    Examples
    --------
    >>> description_path(Path("out/crepe.onnx")).as_posix()
    'out/crepe.json'
    """
    return Path(model_path).with_suffix(".json")


def write_onnx(net, config, path):
    """Write ``path`` (the checked model) and its description beside it, each atomically.

    Returns
    -------
    (Path, Path)
        The model and the description.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = to_onnx(net)
    atomic_write(path, lambda temporary: Path(temporary).write_bytes(model.SerializeToString()))
    write_json(description_path(path), describe(net, config))
    return path, description_path(path)
