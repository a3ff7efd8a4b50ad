"""Download a dataset for users with a network: ``download mnist --dir DIR [--url BASE]``."""

from __future__ import annotations

import argparse

from ..data.mnist import DEFAULT_URL, download_mnist


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("dataset", choices=["mnist"], help="which dataset")
    parser.add_argument("--dir", required=True, help="directory to save the files into")
    parser.add_argument(
        "--url", default=DEFAULT_URL, help=f"base URL of the four .gz IDX files (default {DEFAULT_URL})"
    )


def run(args: argparse.Namespace) -> int:
    for path in download_mnist(args.dir, args.url):
        print(path)
    return 0
