"""Log per-stage firing rates of spiking layers during training and validation."""
from typing import Optional

from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from ...analysis.firing_rate import DEFAULT_GROUPS, FiringRateMonitor
from ...registry import HOOKS


@HOOKS.register_module()
class FiringRateHook(Hook):
    """Log the spikes per neuron and time step of each layer group.

    Every ``interval`` training iterations the rates of that iteration are
    written to the message hub as ``train/firing_rate/<group>`` (so they show up in
    the log and in every visualiser backend); after each validation epoch the
    rates averaged over the whole validation set are logged the same way.

    Args:
        interval: training iterations between two measurements.
        groups: regex whose first group names a layer group (default: backbone
            stages, neck, heads).
        log_val: also measure over validation.
    """

    priority = 'NORMAL'

    def __init__(self, interval: int = 50, groups: str = DEFAULT_GROUPS, log_val: bool = True):
        if interval < 1:
            raise ValueError(f'interval must be >= 1, got {interval}')
        self.interval = interval
        self.groups = groups
        self.log_val = log_val
        self._monitor: Optional[FiringRateMonitor] = None

    def _model(self, runner):
        model = runner.model
        return model.module if is_model_wrapper(model) else model

    def _start(self, runner):
        self._monitor = FiringRateMonitor(self._model(runner)).attach()
        if not self._monitor.layers:
            runner.logger.warning('FiringRateHook: the model has no spiking layer to monitor')

    def _log(self, runner, prefix):
        for group, row in self._monitor.group_stats(self.groups).items():
            runner.message_hub.update_scalar(f'{prefix}/firing_rate/{group}',
                                             row['spikes_per_step'])
        self._monitor.detach()
        self._monitor = None

    def before_train_iter(self, runner, batch_idx, data_batch=None):
        if self.every_n_train_iters(runner, self.interval) or runner.iter == 0:
            self._start(runner)

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
        if self._monitor is not None:
            self._log(runner, 'train')

    def before_val_epoch(self, runner):
        if self.log_val:
            self._start(runner)

    def after_val_epoch(self, runner, metrics=None):
        if self._monitor is not None:
            self._log(runner, 'val')
