import os
import os.path as osp
import shutil

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = osp.dirname(osp.abspath(__file__))

#: What OpenMMLab's `mim` reads from an installed package's `.mim/` folder: the configs
#: (`mim train/test mmqsd CONFIG` find them by file name), tools/train.py and tools/test.py
#: (which `mim train/test` run) and model-index.yml with the metafiles it imports
#: (`mim search mmqsd`).  See docs/install.md, "mim".
MIM_RESOURCES = ('configs', 'tools', 'model-index.yml')


def read_version():
    namespace = {}
    with open(osp.join(HERE, 'mmqsd', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


class BuildPyWithMimResources(build_py):
    """`build_py` that also copies MIM_RESOURCES into the built package's `.mim/`.

    Runs for wheels (`pip install .`, `pip wheel .`).  An editable install keeps the
    source tree in place and gets no `.mim/`: mim needs a regular install.
    """

    def run(self):
        super().run()
        if getattr(self, 'editable_mode', False):
            return
        target = osp.join(self.build_lib, 'mmqsd', '.mim')
        os.makedirs(target, exist_ok=True)
        for name in MIM_RESOURCES:
            src, dst = osp.join(HERE, name), osp.join(target, name)
            if not osp.exists(src):
                raise FileNotFoundError(f'{src} is missing: build mmqsd from a full checkout or '
                                        'its sdist (MANIFEST.in lists what mim needs)')
            if osp.isdir(src):
                shutil.copytree(src, dst, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns('__pycache__', '*.pyc'))
            else:
                shutil.copy2(src, dst)


setup(
    name='mmqsd',
    version=read_version(),
    description='Quantized spike-driven transformers (QSD-Transformer, CSDformer) '
    'for mmpretrain, mmdetection and mmsegmentation',
    packages=find_packages(exclude=('tests', 'tests.*', 'tools', 'tools.*', 'configs',
                                    'configs.*')),
    cmdclass={'build_py': BuildPyWithMimResources},
    python_requires='>=3.11',
    license='Apache-2.0',
    extras_require={'deploy': [line.strip() for line in open(osp.join(HERE, 'requirements',
                                                                  'deploy.txt'))
                               if line.strip() and not line.startswith('#')]},
)
