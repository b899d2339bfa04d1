# The bundle ships packaging/stubs/numba (a no-op stand-in) instead of numba + llvmlite: see that file.
# Overrides the contrib hook, which would collect numba's real submodules and llvmlite.
hiddenimports = []
excludedimports = ["llvmlite"]
