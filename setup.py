"""The packaging that pyproject.toml cannot say: the retail pack is the top-level `rules/`
folder, which the package ships as `loyalty/packs/retail`."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["loyalty*"]), "loyalty.packs.retail"],
    package_dir={"loyalty.packs.retail": "rules"},
)
