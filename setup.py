"""The package's optional C code: the unweighted UniFrac kernels
(src/soilbiome/diversity/_unifrac_native.c), the Newick reader
(src/soilbiome/io/_newick_native.c), the shortest-text formatter of doubles
(src/soilbiome/io/_float_text_native.c) and the FASTQ check's scanner
(src/soilbiome/io/_fastq_native.c).

Everything else about the package is in pyproject.toml. Each extension is a plain shared
library that soilbiome.clib loads with ctypes. All are optional: without a C compiler the
install goes on, and the numba kernels, the Python Newick reader, Arrow's formatting and the
Python FASTQ check are used instead (the same results).
"""

from setuptools import Extension, setup

setup(ext_modules=[
    Extension(
        "soilbiome.diversity._unifrac_native",
        sources=["src/soilbiome/diversity/_unifrac_native.c"],
        extra_compile_args=["-O3", "-fopenmp"],
        extra_link_args=["-fopenmp"],
        optional=True,
    ),
    Extension(
        "soilbiome.io._newick_native",
        sources=["src/soilbiome/io/_newick_native.c"],
        extra_compile_args=["-O2"],
        optional=True,
    ),
    Extension(
        "soilbiome.io._float_text_native",
        sources=["src/soilbiome/io/_float_text_native.c"],
        extra_compile_args=["-O2"],
        optional=True,
    ),
    Extension(
        "soilbiome.io._fastq_native",
        sources=["src/soilbiome/io/_fastq_native.c"],
        extra_compile_args=["-O2"],
        optional=True,
    ),
])
