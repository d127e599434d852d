"""Every tool that loads a user checkpoint refuses a damaged one in one line (issue 14, item 4).

Before: the converters and publish_model ended in a bare EOFError (0-byte file) or RuntimeError
(truncated file) traceback, suggested --trusted for a non-pickle file and then ended in an
UnpicklingError traceback; and no tool checked the sha256 prefix in an OpenMMLab-style name.
"""
import argparse
import os.path as osp
import runpy
import shutil
import sys

import numpy as np
import pytest
import torch

from mmqsd.utils.checkpoint_file import LEGACY_MAGIC, CheckpointFileError, sha256_of

from converter_helpers import QSD_CONFIG, ROOT, TINY, authors_state_dict, build_tiny

CONVERTERS = ('tools/model_converters/qsd2mmqsd.py', 'tools/model_converters/sdtv2_to_mmqsd.py',
              'tools/model_converters/publish_model.py')


@pytest.fixture(scope='module')
def authors_checkpoint(tmp_path_factory):
    path = tmp_path_factory.mktemp('authors') / 'authors.pth'
    torch.save(dict(model=authors_state_dict(build_tiny(QSD_CONFIG)),
                    args=argparse.Namespace(lr=1.0)), path)
    return path


def damaged_files(folder, good):
    """``{case: (path, extra args)}``: what failed downloads and damaged copies leave."""
    data = good.read_bytes()
    files = dict(empty=b'', truncated=data[:len(data) // 2], text=b'<html>502 Bad Gateway</html>',
                 garbage=LEGACY_MAGIC + np.random.default_rng(0).bytes(200))
    cases = {}
    for case, content in files.items():
        path = folder / f'{case}.pth'
        path.write_bytes(content)
        cases[case] = (path, [])
    cases['text --trusted'] = (cases['text'][0], ['--trusted'])
    cases['garbage --trusted'] = (cases['garbage'][0], ['--trusted'])
    wrong_hash = folder / 'qsd_t-0badc0de.pth'  # a good file whose name promises another hash
    shutil.copy(good, wrong_hash)
    cases['wrong hash --trusted'] = (wrong_hash, ['--trusted'])
    return cases


WHAT = {'empty': 'empty file', 'truncated': 'truncated', 'text': 'HTML/XML page',
        'garbage': 'damaged or truncated', 'wrong hash': 'corrupted: its SHA-256'}


@pytest.mark.parametrize('tool_path', CONVERTERS)
def test_converters_end_in_one_clear_line(tool_path, tmp_path, authors_checkpoint, load_tool,
                                          capsys):
    tool = load_tool(tool_path)
    for case, (path, extra) in damaged_files(tmp_path, authors_checkpoint).items():
        out = tmp_path / 'out' / 'converted.pth'
        assert tool.main([str(path), str(out)] + extra) == 1, case
        err = capsys.readouterr().err
        assert err.count('\n') == 1 and err.startswith(f'error: {path}: '), (case, err)
        assert WHAT[case.replace(' --trusted', '')] in err, (case, err)
        assert 'Traceback' not in err and '--trusted' not in err, (case, err)
        assert not (tmp_path / 'out').exists()  # nothing written


@pytest.mark.parametrize('tool_path', CONVERTERS)
def test_converter_as_a_program_exits_non_zero(tool_path, tmp_path, monkeypatch, capsys):
    empty = tmp_path / 'empty.pth'
    empty.write_bytes(b'')
    monkeypatch.setattr(sys, 'argv', [tool_path, str(empty), str(tmp_path / 'o.pth'), '--trusted'])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(osp.join(ROOT, tool_path), run_name='__main__')
    assert exit_.value.code == 1
    assert capsys.readouterr().err.splitlines() == [
        f'error: {empty}: empty file (0 bytes), as an interrupted download or copy leaves; '
        'download or copy it again']


#: ``(tool, argv before the checkpoint, argv after it)``: tools that take a CHECKPOINT.
CHECKPOINT_TOOLS = (
    ('tools/test.py', [], []),
    ('tools/deploy/csdformer_to_snn.py', [], []),
    ('tools/deploy/export_integer.py', [], ['out/prefix']),
    ('tools/deploy/verify_spike_driven.py', [], []),
    ('tools/analysis/energy.py', [], []),
    ('tools/analysis/attention_dist.py', [], []),
    ('tools/analysis/visualize_predictions.py', [], ['--out', 'x.png']),
    ('tools/analysis/visualize_segmentation.py', [], ['--out', 'x.png']),
)


@pytest.mark.parametrize('tool_path, before, after', CHECKPOINT_TOOLS,
                         ids=[t[0].split('/')[-1] for t in CHECKPOINT_TOOLS])
def test_tools_refuse_a_bad_checkpoint_before_building_anything(tool_path, before, after,
                                                               tmp_path, load_tool):
    tool = load_tool(tool_path)
    truncated = tmp_path / 'epoch_1.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(100))), truncated)
    truncated.write_bytes(truncated.read_bytes()[:-30])
    # the config is never read: the checkpoint is checked first
    with pytest.raises(SystemExit) as err:
        tool.main(before + ['no/such/config.py', str(truncated)] + after)
    assert str(err.value.code).startswith(f'error: {truncated}: truncated')


def test_published_checkpoint_is_verified_on_load(tmp_path, authors_checkpoint, load_tool):
    """publish_model names a file by its hash; init_model (and every tool) checks it."""
    from mmengine import Config

    from mmqsd.apis import init_model
    config = tmp_path / 'tiny_authors.py'
    Config(dict(_base_=[QSD_CONFIG], model=dict(
        backbone=dict(arch=dict(TINY, _delete_=True)),
        head=dict(in_channels=TINY['embed_dims'][-1], num_classes=5)))).dump(config)
    converted = tmp_path / 'converted.pth'
    qsd2mmqsd = load_tool(CONVERTERS[0])
    assert qsd2mmqsd.main([str(authors_checkpoint), str(converted), '--trusted']) == 0
    publish = load_tool(CONVERTERS[2])
    published = publish.publish(str(converted), str(tmp_path / 'qsd_tiny.pth'))
    assert published.endswith(f'-{sha256_of(published)[:8]}.pth')
    init_model(str(config), published)  # the right hash: loads
    data = bytearray(open(published, 'rb').read())
    data[len(data) // 2] ^= 0x10  # one bit flipped by a bad download
    open(published, 'wb').write(bytes(data))
    with pytest.raises(CheckpointFileError, match='corrupted: its SHA-256'):
        init_model(str(config), published)
    with pytest.raises(CheckpointFileError, match='no such file'):
        init_model('never/read.py', str(tmp_path / 'missing.pth'))  # before the config is read
