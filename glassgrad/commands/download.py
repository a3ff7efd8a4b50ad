"""Download a dataset for users with a network: ``download mnist --dir DIR [--url BASE]``."""

from __future__ import annotations

import argparse
import sys

from ..data.mnist import DEFAULT_URL, download_mnist


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=["mnist"], help="which dataset")
    parser.add_argument("--dir", required=True, help="directory to save the files into")
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"base URL of the four .gz IDX files (default {DEFAULT_URL})"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait per request (default 60)")


def run(args: argparse.Namespace) -> int:
    try:
        paths = download_mnist(args.dir, args.url, timeout=args.timeout)
    except (ConnectionError, ValueError) as err:
        print(f"download {args.dataset}: {err}", file=sys.stderr)
        return 1
    for path in paths:
        print(path)
    print(f"{args.dataset}: {len(paths)} files in {args.dir}; train with --data-dir {args.dir}")
    return 0
