"""tools/model_converters/publish_model.py: stripped, weights-only loadable, sha256-named."""
import argparse
import hashlib
import re

import torch


def test_publish_strips_training_state(tmp_path, load_tool):
    tool = load_tool('tools/model_converters/publish_model.py')
    src = tmp_path / 'epoch_3.pth'
    torch.save(dict(
        meta=dict(epoch=3, dataset_meta=dict(classes=('a', 'b')), seed=0,
                  hook_msgs=dict(last_ckpt='x'), cfg_obj=argparse.Namespace(a=1)),
        state_dict={'module.backbone.w': torch.nn.Parameter(torch.ones(2)),
                    'module.head.b': torch.zeros(3)},
        optimizer=dict(state={0: dict(exp_avg=torch.ones(2))}),
        message_hub=argparse.Namespace(log='x')), src)
    out = tmp_path / 'qsd_t.pth'
    assert tool.main([str(src), str(out)]) == 1  # pickled objects need --trusted
    assert tool.main([str(src), str(out), '--trusted']) == 0
    [published] = list(tmp_path.glob('qsd_t-*.pth'))
    sha = hashlib.sha256(published.read_bytes()).hexdigest()
    assert re.fullmatch(r'qsd_t-[0-9a-f]{8}\.pth', published.name)
    assert published.name == f'qsd_t-{sha[:8]}.pth' and not out.exists()
    checkpoint = torch.load(published, weights_only=True)
    assert set(checkpoint) == {'state_dict', 'meta'}
    assert set(checkpoint['state_dict']) == {'backbone.w', 'head.b'}
    assert type(checkpoint['state_dict']['backbone.w']) is torch.Tensor
    assert checkpoint['meta']['dataset_meta'] == {'classes': ['a', 'b']}
    assert 'hook_msgs' not in checkpoint['meta'] and checkpoint['meta']['cfg_obj'] == 'Namespace(a=1)'
