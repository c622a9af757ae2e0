# The cffi extension is declared here because cffi_modules has no pyproject.toml key.
from setuptools import setup

setup(cffi_modules=["hwsim/_build.py:ffibuilder"])
