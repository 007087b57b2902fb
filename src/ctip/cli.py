"""The `ctip` command: ctip's own subcommands plus every Django management command.

ctip geography load          ctip user add NAME --role R --area CODE
ctip demo-data --size small  ctip token NAME
ctip audit verify            ctip migrate / ctip runserver / ...
"""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    args = list(sys.argv if argv is None else argv)
    args[0] = "ctip"
    # `ctip demo-data` is the management command `demo_data`.
    if len(args) > 1 and not args[1].startswith("-"):
        args[1] = args[1].replace("-", "_")
    from django.core.management import execute_from_command_line

    execute_from_command_line(args)


if __name__ == "__main__":
    main()
