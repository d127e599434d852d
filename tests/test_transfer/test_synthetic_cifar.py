"""Generated CIFAR batches read through mmpretrain's CIFAR10/CIFAR100 (md5 checks kept)."""
import os.path as osp
import pickle

import numpy as np
import pytest
from mmpretrain.datasets import CIFAR10

from mmqsd.datasets.synthetic_cifar import (SyntheticCIFAR10, SyntheticCIFAR100,
                                            make_synthetic_cifar)


def test_batches_have_the_official_layout(cifar10_root):
    folder = osp.join(cifar10_root, 'cifar-10-batches-py')
    with open(osp.join(folder, 'data_batch_1'), 'rb') as f:
        batch = pickle.load(f, encoding='latin1')
    assert batch['data'].dtype == np.uint8 and batch['data'].shape[1] == 3072
    assert len(batch['labels']) == len(batch['data']) == 5  # 23 images over 5 batches
    with open(osp.join(folder, 'batches.meta'), 'rb') as f:
        assert pickle.load(f)['label_names'][0] == 'airplane'


def test_synthetic_cifar10_reads_through_mmpretrain(cifar10_root):
    train = SyntheticCIFAR10(data_root=cifar10_root, split='train')
    test = SyntheticCIFAR10(data_root=cifar10_root, split='test')
    assert (len(train), len(test)) == (23, 7)
    info = train.get_data_info(12)
    assert info['img'].shape == (32, 32, 3) and info['gt_label'] == 12 % 10
    assert train.CLASSES[:2] == ('airplane', 'automobile')


def test_real_type_still_checks_md5_and_generated_type_checks_its_own(cifar10_root, tmp_path):
    with pytest.raises(RuntimeError, match='Cannot find CIFAR10'):
        CIFAR10(data_root=cifar10_root, split='test', download=False)  # md5 of the real files
    with pytest.raises(FileNotFoundError, match="use type='CIFAR10'"):
        SyntheticCIFAR10(data_root=str(tmp_path), split='test')
    copy = tmp_path / 'copy'
    make_synthetic_cifar(str(copy), 'cifar10', num_train=5, num_test=2)
    (copy / 'cifar-10-batches-py' / 'test_batch').write_bytes(b'tampered')
    with pytest.raises(RuntimeError, match='Cannot find'):
        SyntheticCIFAR10(data_root=str(copy), split='test')


def test_synthetic_cifar100(tmp_path):
    root = str(tmp_path / 'cifar100')
    meta = make_synthetic_cifar(root, 'cifar100', num_train=12, num_test=4)
    assert set(meta['md5']) == {'train', 'test', 'meta'}
    train = SyntheticCIFAR100(data_root=root, split='train')
    assert len(train) == 12 and len(train.CLASSES) == 100
    assert train.get_data_info(11)['gt_label'] == 11
    with pytest.raises(FileNotFoundError, match='generated cifar100'):
        SyntheticCIFAR100(data_root=str(tmp_path / 'nothing'))
    with pytest.raises(ValueError, match='kind'):
        make_synthetic_cifar(str(tmp_path / 'x'), 'cifar1000')
