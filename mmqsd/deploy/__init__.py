from .fusion import fold_norms_into_conv, fuse_norms
from .spike_driven import (SpikeValueRecorder, max_relative_error, set_spike_driven,
                           spiking_neurons, to_spike_driven)

__all__ = [
    'fold_norms_into_conv', 'fuse_norms', 'SpikeValueRecorder', 'max_relative_error',
    'set_spike_driven',
    'spiking_neurons', 'to_spike_driven'
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
from .integer_inference import to_integer_inference  # noqa: E402

__all__ += ['to_integer_inference']
