"""Started inside a run's container before the script: says clearly when the image's Python is too old for the
in-script API, then becomes the script's interpreter (``exec``: the script runs as ``python script.py args``).

Written for any Python 3 (an image's Python may be old): no f-strings, no variable annotations.
"""

import os
import sys

API_MIN = (3, 10)  # jupyter_amlrun's requires-python


def main() -> None:
    if sys.version_info[:2] < API_MIN:
        need = ".".join(str(n) for n in API_MIN)
        sys.stderr.write(
            "amlrun: this image's Python "
            + sys.version.split()[0]
            + " is older than "
            + need
            + ", which the in-script "
            "API needs (Run.get_context(), run.log). The script runs, but `import jupyter_amlrun` fails in it. Use an "
            "image with Python >= " + need + ", or log from a script that does not import jupyter_amlrun.\n"
        )
        lib = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
        parts = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != lib]
        os.environ["PYTHONPATH"] = os.pathsep.join(parts)
    sys.stdout.flush()
    os.execv(sys.executable, [sys.executable, *sys.argv[1:]])


if __name__ == "__main__":
    main()
