"""Export mmqsd models to ONNX: the exact integer form (``ConvInteger`` / ``MatMulInteger``
on uint8 spike counts) or the float form.

Mechanism: ``torch.onnx.export`` with the TorchScript exporter traces a copy of
the deployed integer model (:func:`~mmqsd.deploy.to_integer_inference`) in which
every module that touches spike counts has been substituted, by name, by an
export form of its own (:class:`OnnxInt8Synapse`, :class:`OnnxIELIFCounts`,
:class:`OnnxSpikeProducts`).  Those call the ``torch.autograd.Function``\\ s of
:mod:`mmqsd.deploy.onnx_ops`, whose ``symbolic`` methods emit the integer ONNX
operators; everything else (the stem on pixels, float convs on BN outputs,
reshapes, residual adds of counts, mmseg's resize) is traced as ordinary
PyTorch ops.  So every model mmqsd can run in integer form (classifiers,
Spikformer, segmentors, detector backbones + necks) exports without a
per-architecture graph writer, and the integer arithmetic is defined in one
place per operation.

Exactness is enforced twice: a module that would need a float op on spike
counts raises (naming the module and why), and :func:`audit_integer_graph`
rejects a graph in which a float ``Conv`` / ``MatMul`` / ``Gemm`` reads a
tensor derived from integer counts.
"""
import copy
import warnings
from typing import Dict, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from ..layers import merge_heads, split_heads
from ..layers.multistep import fold_batch
from .integer_inference import to_integer_inference
from .modules import FloatSynapse, IELIFCounts, Int8Synapse, SpikeProducts
from .onnx_ops import (ConvIntegerOp, CountMatMulOp, IELIFOp, MatMulIntegerOp, check_counts,
                       shifted_weight)
from .spike_train import SpikeCounts, SpikeTrain, synaptic_forward

FORMS = ('integer', 'float')
#: ONNX opset of the exported files (ConvInteger / MatMulInteger exist since 10).
OPSET = 17
#: ONNX IR version written (ONNX Runtime >= 1.15 reads it).
IR_VERSION = 8
#: ONNX operators that compute on integers in an exported integer graph.
INTEGER_OPS = ('ConvInteger', 'MatMulInteger')
FLOAT_PRODUCTS = ('Conv', 'MatMul', 'Gemm', 'ConvTranspose')
#: Ops that move or select values without computing: a tensor keeps its origin through them.
_LAYOUT_OPS = frozenset({'Reshape', 'Transpose', 'Flatten', 'Squeeze', 'Unsqueeze', 'Concat',
                         'Slice', 'Gather', 'Identity', 'Expand', 'Split', 'MaxPool', 'Pad',
                         'Tile', 'Resize'})


class ExportError(ValueError):
    """A module or graph that has no exact integer ONNX form (names the module, says why)."""


# ----------------------------------------------------------------- export-form modules
class OnnxInt8Synapse(nn.Module):
    """Export form of an :class:`Int8Synapse`: uint8 counts -> ``ConvInteger`` /
    ``MatMulInteger`` + the synapse's own epilogue (scale, bias, fused IE-LIF);
    real-valued inputs -> a float conv / linear with ``scale * Q(w)``."""

    def __init__(self, synapse: Int8Synapse, name: str):
        super().__init__()
        self.synapse, self.name = synapse, name
        if synapse.kind == 'linear':
            self.register_buffer('weight_t', synapse.weight.t().contiguous())
        else:
            self.register_buffer('weight_u8', shifted_weight(synapse.weight))

    def forward(self, x):
        synapse = self.synapse
        if isinstance(x, SpikeTrain):
            raise ExportError(f'{self.name}: binary spike trains (the spike-integer form) are '
                              "not exported; export form='integer' (uint8 counts)")
        if not isinstance(x, SpikeCounts):
            return self._float(x)
        check_counts(x, self.name)
        epilogue = synapse._epilogue(x.scale, x.device)
        levels = epilogue.levels or 0
        norm = synapse._neuron()[2] if levels else None
        if synapse.kind == 'linear':
            out = MatMulIntegerOp.apply(x.values, self.weight_t, epilogue.scale, epilogue.bias,
                                        levels)
        else:
            shape = (1, -1) + (1, ) * (synapse.sample_dims - 1)
            scale, bias = epilogue.scale.view(shape), epilogue.bias.view(shape)
            out = fold_batch(x.values, lambda v: ConvIntegerOp.apply(
                v, self.weight_u8, scale, bias, synapse.stride, synapse.padding,
                synapse.dilation, synapse.groups, levels), synapse.sample_dims)
        return SpikeCounts(out, 1.0 / norm) if levels else out

    def _float(self, x):
        synapse = self.synapse
        weight = synapse.effective_weight().float()
        out = synaptic_forward(x, lambda inp, b: synapse._op(inp, weight, b), synapse.bias,
                               synapse.sample_dims)
        if not synapse.fused:
            return out
        neuron = synapse._neuron()
        return SpikeCounts(IELIFOp.apply(out, neuron[1], neuron[0]), 1.0 / neuron[2])


class OnnxIELIFCounts(nn.Module):
    """Export form of :class:`IELIFCounts`: ``Clip/Floor/Cast`` to uint8 counts."""

    def __init__(self, neuron: IELIFCounts, name: str):
        super().__init__()
        if neuron.levels > 127:
            raise ExportError(f'{name}: IE-LIF with {neuron.levels} levels emits int32 counts, '
                              'beyond the uint8 integer operators (levels <= 127)')
        self.levels, self.gain, self.norm, self.name = neuron.levels, neuron.gain, \
            neuron.norm, name

    def forward(self, v):
        if isinstance(v, SpikeCounts):  # fired inside the synapse that feeds this neuron
            return v
        return SpikeCounts(IELIFOp.apply(v, self.gain, self.levels), 1.0 / self.norm)


class OnnxSpikeProducts(nn.Module):
    """Export form of :class:`SpikeProducts` on counts: ``k^T v`` as ``MatMulInteger``
    (uint8 x uint8), ``q (k^T v)`` as an int32 ``MatMul``; the scales after (QSD Eq. 6)."""

    def __init__(self, products: SpikeProducts, name: str):
        super().__init__()
        self.num_heads, self.scale, self.name = products.num_heads, products.scale, name

    def forward(self, q, k, v):
        for t in (q, k, v):
            if not isinstance(t, SpikeCounts):
                raise ExportError(f'{self.name}: attention products read {type(t).__name__}; '
                                  'the integer export needs uint8 spike counts for q, k, v')
            check_counts(t, self.name)
        height, width = q.shape[-2:]
        q_, k_, v_ = (split_heads(t.values, self.num_heads) for t in (q, k, v))
        kv = CountMatMulOp.apply(k_.transpose(-1, -2), v_)
        y = CountMatMulOp.apply(q_, kv).float() * (self.scale * q.scale * k.scale * v.scale)
        return merge_heads(y, height, width)


class OnnxFloatSynapse(nn.Module):
    """Export form of a full-precision :class:`FloatSynapse`: refuses spike counts (a float
    conv on counts is not an integer op) and runs real-valued inputs as they are."""

    def __init__(self, synapse: FloatSynapse, name: str):
        super().__init__()
        self.synapse, self.name = synapse, name

    def forward(self, x):
        if isinstance(x, (SpikeCounts, SpikeTrain)):
            raise ExportError(f'{self.name}: a full-precision layer (weight_bits=None) reads '
                              'spike counts; it has no integer operator. Quantise its weights '
                              "or export form='float'")
        return self.synapse(x)


def _export_form(module: nn.Module, name: str) -> Optional[nn.Module]:
    if isinstance(module, Int8Synapse):
        return OnnxInt8Synapse(module, name)
    if isinstance(module, FloatSynapse):
        return OnnxFloatSynapse(module, name)
    if isinstance(module, IELIFCounts):
        return OnnxIELIFCounts(module, name)
    if isinstance(module, SpikeProducts):
        return OnnxSpikeProducts(module, name)
    return None


def to_onnx_form(deployed: nn.Module) -> nn.Module:
    """Substitute the export forms into (a copy of) an integer-form model, by name."""
    deployed = copy.deepcopy(deployed)
    replaced = []
    for name, module in list(deployed.named_modules()):
        if any(name.startswith(r + '.') for r in replaced):
            continue
        new = _export_form(module, name)
        if new is not None:
            parent, _, attr = name.rpartition('.')
            setattr(deployed.get_submodule(parent) if parent else deployed, attr, new)
            replaced.append(name)
    return deployed.eval()


# ------------------------------------------------------------------------- tasks
class ClassifierLogits(nn.Module):
    """``(B, 3, H, W)`` normalised images -> ``(B, num_classes)`` logits."""
    output_names = ('logits', )

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        return self.model(inputs, mode='tensor')


class SegmentorLogits(nn.Module):
    """``(B, 3, H, W)`` -> ``(B, num_classes, H, W)`` logits at the input size (mmseg's
    ``EncoderDecoder.encode_decode``: decode head, then bilinear resize)."""
    output_names = ('seg_logits', )

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        logits = self.model.decode_head(self.model.extract_feat(inputs))
        return F.interpolate(logits, size=inputs.shape[2:], mode='bilinear',
                             align_corners=self.model.decode_head.align_corners)


class DetectorFeatures(nn.Module):
    """``(B, 3, H, W)`` -> the neck's feature maps (mmdet ``extract_feat``: backbone +
    spiking FPN), one output per level, ``feat0`` finest."""

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model = model

    def forward(self, inputs):
        return tuple(self.model.extract_feat(inputs))


def task_of(model: nn.Module) -> str:
    """'classifier', 'segmentor' or 'detector' for an mmpretrain / mmseg / mmdet model."""
    if hasattr(model, 'decode_head'):
        return 'segmentor'
    if hasattr(model, 'rpn_head') or hasattr(model, 'roi_head') or hasattr(model, 'bbox_head'):
        return 'detector'
    if hasattr(model, 'head') and hasattr(model, 'backbone'):
        return 'classifier'
    raise ExportError(f'{type(model).__name__} is not an mmpretrain classifier, mmseg '
                      'segmentor or mmdet detector')


WRAPPERS = dict(classifier=ClassifierLogits, segmentor=SegmentorLogits,
                 detector=DetectorFeatures)


# ------------------------------------------------------------------------- export
def export_onnx(model: nn.Module, path: str, form: str = 'integer',
                 input_shape: Tuple[int, int, int, int] = (1, 3, 224, 224)) -> dict:
    """Write ``model`` (an untouched mmpretrain / mmseg / mmdet model of mmqsd) to ``path``.

    ``form='integer'``: :func:`to_integer_inference`, then the export forms above:
    uint8 spike counts x int8 weights as ``ConvInteger`` / ``MatMulInteger`` (int32
    sums), scales and biases as float ``Mul`` / ``Add``, IE-LIF as ``Clip``/``Floor``/
    ``Cast``; real-valued inputs (pixels, BN outputs) stay float ``Conv``.
    ``form='float'``: the fp32 multi-bit model as it is.  The input shape
    ``(B, 3, H, W)`` (normalised images) is fixed in the file; runners feed any number
    of images in chunks of ``B`` (:class:`~mmqsd.deploy.onnx_runtime.OnnxModel`).

    Returns ``dict(path, form, task, input_name='inputs', input_shape, output_names,
    opset, num_integer_ops)``.  Raises :class:`ExportError` for a module without an
    exact integer form or a float product on counts (see :func:`audit_integer_graph`),
    ``ImportError`` with the install command if onnx / onnxruntime are missing.
    """
    from .onnx_runtime import require_onnxruntime
    require_onnxruntime()
    import onnx
    if form not in FORMS:
        raise ValueError(f'unknown ONNX form {form!r}; choose one of {FORMS}')
    task = task_of(model)
    model = model.eval()
    deployed = to_onnx_form(to_integer_inference(model)) if form == 'integer' \
        else copy.deepcopy(model)
    wrapper = WRAPPERS[task](deployed).eval()
    example = torch.zeros(input_shape)
    with torch.no_grad():
        outputs = wrapper(example)
    names = [f'feat{i}' for i in range(len(outputs))] if task == 'detector' \
        else list(wrapper.output_names)
    with warnings.catch_warnings(), torch.no_grad():
        warnings.simplefilter('ignore')  # tracer warnings on Python-level shape checks
        torch.onnx.export(wrapper, (example, ), path, dynamo=False, opset_version=OPSET,
                          input_names=['inputs'], output_names=names)
    graph = onnx.load(path)
    graph.ir_version = IR_VERSION
    graph.metadata_props.add(key='mmqsd_form', value=form)
    graph.metadata_props.add(key='mmqsd_task', value=task)
    num_integer = audit_integer_graph(graph) if form == 'integer' else \
        count_integer_ops(graph)
    onnx.save(graph, path)
    return dict(path=path, form=form, task=task, input_name='inputs',
                input_shape=list(input_shape), output_names=names, opset=OPSET,
                num_integer_ops=num_integer)


def count_integer_ops(graph) -> int:
    """Nodes that compute on integers: ``ConvInteger``, ``MatMulInteger`` and ``MatMul`` on
    int32 (Q-SDSA's ``q (k^T v)``)."""
    types = _value_types(graph)
    return sum(1 for n in graph.graph.node if n.op_type in INTEGER_OPS or
               (n.op_type == 'MatMul' and types.get(n.input[0]) == 'int32'))


def audit_integer_graph(graph) -> int:
    """Check that no float ``Conv`` / ``MatMul`` / ``Gemm`` reads spike counts.

    A tensor derives from counts if it is integer-typed or reaches the product only
    through :data:`_LAYOUT_OPS` and ``Cast`` from an integer tensor.  Returns the
    number of integer ops; raises :class:`ExportError` naming the offending node.
    """
    types = _value_types(graph)
    producer = {out: n for n in graph.graph.node for out in n.output}

    def from_counts(value: str, depth: int = 0) -> bool:
        node = producer.get(value)
        if node is None or depth > 64:
            return False
        if node.op_type == 'Cast':
            return not _is_float(types.get(node.input[0], 'float32'))
        if node.op_type in _LAYOUT_OPS:
            return from_counts(node.input[0], depth + 1)
        return False

    for node in graph.graph.node:
        if node.op_type in FLOAT_PRODUCTS and _is_float(types.get(node.input[0], 'float32')):
            for value in node.input[:2]:
                if from_counts(value):
                    raise ExportError(f'ONNX node {node.name} ({node.op_type}) is a float '
                                      f'product on spike counts ({value}); every synapse on '
                                      'counts must be ConvInteger / MatMulInteger')
    return count_integer_ops(graph)


def _is_float(dtype: str) -> bool:
    return dtype.startswith(('float', 'bfloat'))


def _value_types(graph) -> Dict[str, str]:
    import onnx
    from onnx import helper
    inferred = onnx.shape_inference.infer_shapes(graph)
    infos = list(inferred.graph.value_info) + list(inferred.graph.input) + \
        list(inferred.graph.output)
    types = {i.name: helper.tensor_dtype_to_np_dtype(i.type.tensor_type.elem_type).name
             for i in infos if i.type.tensor_type.elem_type}
    for init in graph.graph.initializer:
        types[init.name] = helper.tensor_dtype_to_np_dtype(init.data_type).name
    return types


def op_counts(path_or_graph) -> Dict[str, int]:
    """``{op_type: count}`` of an ONNX file or model."""
    import onnx
    graph = onnx.load(path_or_graph) if isinstance(path_or_graph, str) else path_or_graph
    counts: Dict[str, int] = {}
    for node in graph.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts

