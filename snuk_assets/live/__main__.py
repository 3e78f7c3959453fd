"""``python -m snuk_assets.live``: the same as ``snuk live``."""

import argparse
import sys

from snuk_assets.live.cli import add_arguments, live_command

if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m snuk_assets.live")
    add_arguments(parser)
    sys.exit(live_command(parser.parse_args()))
