"""Entry point of the frozen app (PyInstaller runs this file as ``__main__``)."""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()        # eval/calibrate use spawn-based process pools
    from interview_guard.cli.main import main

    sys.exit(main())
