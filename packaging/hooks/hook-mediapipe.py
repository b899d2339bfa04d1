# mediapipe 1.2.x loads tasks/c/libmediapipe.so with ctypes at the first landmarker, so PyInstaller's
# import analysis never sees it: collect the package's shared libraries (keeping their place in the
# package tree, where mediapipe looks for them) and its data files. No models live in the wheel.
from PyInstaller.utils.hooks import collect_data_files, collect_dynamic_libs, collect_submodules

binaries = collect_dynamic_libs("mediapipe")
datas = collect_data_files("mediapipe", excludes=["**/__pycache__", "**/*.pyi"])
hiddenimports = collect_submodules("mediapipe.tasks.python")
# mediapipe's vision module imports matplotlib lazily for drawing utils; the app's reports import it anyway.
excludedimports = ["cv2.gapi", "mediapipe.model_maker"]
