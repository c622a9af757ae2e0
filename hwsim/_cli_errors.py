"""The command line's one error path (leaf module shared by hwsim.cli and the network verbs).

Every exception escaping a verb becomes one line ``hwsim <verb>: error: ...`` on
stderr and exit status 2 (usage / input) or 1 (runtime, environment, internal
error); ``--debug`` or ``HWSIM_DEBUG=1`` re-raises it instead (see docs/errors.md).
"""
from __future__ import annotations

import argparse
import errno
import os
import re
import sys

from .errors import HwsimError, UsageError

__all__ = ["Parser", "NEGATIVE_NUMBER", "add_debug_options", "error_status", "run_cli"]

#: argument strings that are numbers although they start with '-' (-1e39, -inf, -.5)
NEGATIVE_NUMBER = re.compile(r"^-(\d+\.?\d*([eE][-+]?\d+)?|\.\d+([eE][-+]?\d+)?|"
                             r"inf(inity)?|nan)$", re.IGNORECASE)


class Parser(argparse.ArgumentParser):
    """argparse with one-line errors (``hwsim <verb>: error: ...``, exit 2)."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def add_debug_options(parser, sub) -> None:
    """``--debug`` before the verb and after it."""
    parser.add_argument("--debug", action="store_true", help="show tracebacks of errors")
    for sp in sub.choices.values():
        sp.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                        help="show the traceback of an error")


def _one_line(text) -> str:
    return "; ".join(s.strip() for s in str(text).splitlines() if s.strip()) or "(no message)"


def error_status(exc) -> tuple[int, str]:
    """Exit status and one-line message of an exception escaping a verb."""
    if isinstance(exc, UsageError):
        return 2, str(exc)
    if isinstance(exc, OSError):
        name = errno.errorcode.get(exc.errno or 0, "")
        where = f"{exc.filename}: " if exc.filename else ""
        what = exc.strerror or str(exc)
        return 1, f"{where}{what}" + (f" ({name}, errno {exc.errno})" if name else "")
    if isinstance(exc, (ValueError, TypeError)):
        return 2, str(exc)
    if isinstance(exc, HwsimError):
        return 1, str(exc)
    if isinstance(exc, MemoryError):
        return 1, "out of memory (try a smaller batch)"
    return 1, (f"internal error ({type(exc).__name__}: {exc}); please report it with the "
               "traceback shown by --debug")


def run_cli(parser, argv=None) -> int:
    """Parse ``argv`` and run the chosen verb through the one error path."""
    args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    debug = getattr(args, "debug", False) or os.environ.get("HWSIM_DEBUG", "") not in ("", "0")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        if debug:
            raise
        print(f"hwsim {args.verb}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if debug:
            raise
        status, msg = error_status(exc)
        print(f"hwsim {args.verb}: error: {_one_line(msg)}", file=sys.stderr)
        return status
