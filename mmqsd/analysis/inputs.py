"""Model inputs for the analysis tools: random tensors or images from a config's val set."""
import torch
from mmengine.runner import Runner


def random_inputs(model, batch_size: int, height: int, width: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    in_channels = getattr(getattr(model, 'backbone', None), 'in_channels', 3)
    return torch.randn(batch_size, in_channels, height, width, generator=gen)


def dataset_batches(model, cfg, num_images: int):
    """Yield preprocessed input batches holding ``num_images`` images of ``cfg.val_dataloader``.

    Raises a clear error if the dataset is missing.
    """
    loader_cfg = cfg.get('val_dataloader') or cfg.get('test_dataloader')
    if loader_cfg is None:
        raise ValueError('the config has no val_dataloader/test_dataloader; use --input-size '
                         'with random inputs instead of --data')
    try:
        loader = Runner.build_dataloader(loader_cfg)
    except (FileNotFoundError, OSError) as err:
        raise FileNotFoundError(f'cannot read the validation data of this config ({err}); '
                                'fix data_root or generate the demo data with '
                                'tools/misc/make_demo_data.py') from err
    seen = 0
    for data in loader:
        data = model.data_preprocessor(data, False)
        inputs = data['inputs'][:num_images - seen]
        seen += len(inputs)
        yield inputs
        if seen >= num_images:
            return


def analysis_batches(model, data: int, input_size, batch_size: int = 1):
    """``data`` images of the config's val set, or one random batch of ``input_size``."""
    if data:
        return dataset_batches(model, model.cfg, data)
    height, width = (list(input_size) * 2)[:2]
    return [random_inputs(model, batch_size, height, width)]


def tensor_forward(model, inputs):
    """Raw network outputs of an OpenMMLab model (``mode='tensor'``) or a plain module."""
    try:
        return model(inputs, mode='tensor')
    except TypeError:
        return model(inputs)
