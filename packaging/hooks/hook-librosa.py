# The app uses librosa only for librosa.filters.mel (perception/speaker.py). librosa loads its
# submodules lazily (lazy_loader, driven by the .pyi stubs): keep the package's code and stubs, but not
# its example-data registry downloads. Overrides the contrib hook.
from PyInstaller.utils.hooks import collect_data_files, collect_submodules

datas = collect_data_files("librosa", excludes=["**/__pycache__"])
hiddenimports = collect_submodules("librosa")
excludedimports = ["llvmlite", "sklearn", "samplerate", "resampy"]
