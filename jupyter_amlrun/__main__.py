"""``python -m jupyter_amlrun COMMAND`` and ``jupyter amlrun COMMAND`` (the ``jupyter-amlrun`` console script).

Commands:
    port PATH... [--out FOLDER] [--no-backup] [--dry-run]   port Azure ML SDK v1 notebooks and scripts
"""

from __future__ import annotations

import sys

from jupyter_amlrun.runtime.errors import UserErrorException

__all__ = ["main"]

USAGE = """usage: jupyter amlrun COMMAND [ARGS]

commands:
  port PATH... [--out FOLDER] [--no-backup] [--dry-run]
        rewrite the azureml imports of v1 notebooks and scripts to jupyter_amlrun, and report
        (jupyter amlrun port --help for more)
"""


def main(argv: list[str] | None = None) -> int:
    """Run ``jupyter amlrun`` with ``argv`` (default: the process's arguments); returns the exit status."""
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help", "help"):
        print(USAGE, end="")
        return 0 if argv else 2
    command, rest = argv[0], argv[1:]
    if command == "port":
        from jupyter_amlrun.porting.port import run_port

        try:
            text, code = run_port(rest)
        except UserErrorException as exc:
            print(f"jupyter amlrun port: {exc}", file=sys.stderr)
            return 2
        print(text)
        return code
    print(f"jupyter amlrun: unknown command {command!r}.\n\n{USAGE}", end="", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
