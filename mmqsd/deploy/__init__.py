from .forms import FORMS, convert, replace_modules, spiking_neurons
from .fusion import fold_layer_scales, fold_norms_into_conv, fold_padding_norm, fuse_norms
from .integer_inference import to_integer_inference
from .modules import (DenseReadout, DeployedSynapse, FloatSynapse, IELIFCounts, IELIFSpikes,
                      Int8Synapse, LIFCounts, LIFSpikes, SpikeProducts, SpikeTrainMaxPool2d,
                      SpikeTrainSum, synapse_of)
from .serialization import load_deployed, save_deployed
from .spike_driven import SpikeValueRecorder, max_relative_error, to_spike_driven
from .spike_train import (SpikeCounts, SpikeTrain, map_values, spike_matmul, synaptic_forward,
                          to_value)

__all__ = [
    'FORMS', 'convert', 'replace_modules', 'spiking_neurons', 'fold_layer_scales',
    'fold_norms_into_conv', 'fold_padding_norm', 'fuse_norms', 'to_integer_inference',
    'DenseReadout', 'DeployedSynapse', 'FloatSynapse', 'IELIFCounts', 'IELIFSpikes',
    'Int8Synapse', 'LIFCounts', 'LIFSpikes', 'SpikeProducts', 'SpikeTrainMaxPool2d',
    'SpikeTrainSum', 'synapse_of', 'load_deployed', 'save_deployed', 'SpikeValueRecorder',
    'max_relative_error', 'to_spike_driven', 'SpikeCounts', 'SpikeTrain', 'map_values',
    'spike_matmul', 'synaptic_forward', 'to_value'
]
from .verify import randomize_statistics, verify_spike_driven  # noqa: E402

__all__ += ['randomize_statistics', 'verify_spike_driven']
from .csdformer_snn import (SpikeRecorder, SpikingCSDformer,  # noqa: E402
                            SpikingCSDformerClassifier, check_convertible, convert_csdformer)
from .op_audit import OpRecord, SpikeDrivenAudit  # noqa: E402

__all__ += [
    'SpikeRecorder', 'SpikingCSDformer', 'SpikingCSDformerClassifier', 'check_convertible',
    'convert_csdformer', 'OpRecord', 'SpikeDrivenAudit'
]
from .onnx_export import ExportError, audit_integer_graph, export_onnx  # noqa: E402
from .onnx_inferencer import ORTInferencer, evaluate_test_set  # noqa: E402
from .onnx_runtime import OnnxModel, verify_onnx  # noqa: E402

__all__ += [
    'ExportError', 'audit_integer_graph', 'export_onnx', 'ORTInferencer', 'evaluate_test_set',
    'OnnxModel', 'verify_onnx'
]
