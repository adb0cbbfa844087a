"""The C kernels of unweighted UniFrac (src/soilbiome/diversity/_unifrac_native.c).

Everything else about the package is in pyproject.toml. The extension is a plain shared
library that soilbiome.diversity.native loads with ctypes. It is optional: without a C
compiler the install goes on and the numba kernels are used instead (the same values).
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "soilbiome.diversity._unifrac_native",
    sources=["src/soilbiome/diversity/_unifrac_native.c"],
    extra_compile_args=["-O3", "-fopenmp"],
    extra_link_args=["-fopenmp"],
    optional=True,
)])
