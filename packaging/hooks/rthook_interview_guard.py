# Runtime hook of the frozen interview-guard (runs before the app's code).
import importlib.util
import os
import sys

# Reports render off-screen with Agg; never let matplotlib probe for a Qt/Tk backend.
os.environ.setdefault("MPLBACKEND", "Agg")


class _LazySubmodules:
    """Start-up: `from mediapipe.tasks.python import vision` imports mediapipe's drawing helpers, which
    import matplotlib.pyplot (~1 s of CPU before the first frame). The app never draws with them, so they
    are loaded lazily: the module object exists, its code runs on first attribute access."""

    NAMES = frozenset({"mediapipe.tasks.python.vision.drawing_styles",
                       "mediapipe.tasks.python.vision.drawing_utils"})

    def find_spec(self, name, path=None, target=None):
        if name not in self.NAMES:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = importlib.util.LazyLoader(spec.loader)
        return spec


if os.environ.get("IG_EAGER_IMPORTS") != "1":
    sys.meta_path.insert(0, _LazySubmodules())
