from setuptools import find_packages, setup


def read_version():
    namespace = {}
    with open('mmqsd/version.py') as f:
        exec(f.read(), namespace)
    return namespace['__version__']


setup(
    name='mmqsd',
    version=read_version(),
    description='Quantized spike-driven transformers (QSD-Transformer, CSDformer) '
    'for mmpretrain, mmdetection and mmsegmentation',
    packages=find_packages(exclude=('tests', 'tools', 'configs')),
    python_requires='>=3.11',
    license='Apache-2.0',
    extras_require={'deploy': [line.strip() for line in open('requirements/deploy.txt')
                               if line.strip() and not line.startswith('#')]},
)
