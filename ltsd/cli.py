"""The `ltsd` command: parses flags, builds a Config, hands over. User mistakes exit 2 in one line."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from ltsd.errors import LtsdError

EXIT_USER_ERROR = 2


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except LtsdError as error:
        print(f"ltsd: error: {error}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ltsd", description="Learning to See daemon")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("run", help="NDI (or synthetic) in → world → NDI out")
    run.add_argument("--config", type=Path, help="YAML config file (default: built-in defaults)")
    run.add_argument("--source", help="'synthetic' or 'ndi:NAME'")
    run.add_argument("--ndi-name", help="name of the published NDI source (default ltsd)")
    run.add_argument("--extra-ips", help="comma list of IPs for NDI discovery, e.g. 127.0.0.1")
    run.add_argument("--model", help="model name in the models folder")
    run.add_argument("--models-dir", help="folder of .safetensors models")
    run.add_argument("--device", help="auto, cpu or cuda")
    run.add_argument("--frames", type=int, help="stop cleanly after N output frames")
    verbosity = run.add_mutually_exclusive_group()
    verbosity.add_argument("--quiet", action="store_true", help="warnings and errors only")
    verbosity.add_argument("--verbose", action="store_true", help="debug logging")
    run.set_defaults(handler=run_command)

    models = commands.add_parser("models", help="list the models in the models folder")
    models.add_argument("--models-dir", help="folder of .safetensors models")
    models.set_defaults(handler=models_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    from ltsd.config import load_config

    config = load_config(args.config, run_overrides(args))
    setup_logging(config.log.level)
    if args.frames is not None and args.frames < 1:
        raise LtsdError(f"--frames: expected a positive integer, got {args.frames}")
    from ltsd.daemon import Daemon

    return Daemon(config, max_frames=args.frames).run()


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Flags as a partial config mapping, so they are validated exactly like the file."""
    flags = {
        ("source", "spec"): args.source,
        ("source", "extra_ips"): args.extra_ips,
        ("output", "ndi_name"): args.ndi_name,
        ("model", "name"): args.model,
        ("model", "models_dir"): args.models_dir,
        ("model", "device"): args.device,
        ("log", "level"): "quiet" if args.quiet else "verbose" if args.verbose else None,
    }
    overrides: dict[str, Any] = {}
    for (section, key), value in flags.items():
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    return overrides


def models_command(args: argparse.Namespace) -> int:
    from ltsd.config import ModelConfig
    from ltsd.modelstore import list_models

    models_dir = ModelConfig(models_dir=args.models_dir or "").models_path()
    rows = list_models(models_dir)
    if not rows:
        print(f"no models in {models_dir}")
        return 0
    print(f"{'name':<20} {'resolution':>10} {'parameters':>12} {'size':>9}  description")
    for row in rows:
        name = row.path.name.removesuffix(".safetensors")
        size = f"{row.size_bytes / 1e6:.1f} MB"
        if row.info is None:
            print(f"{name:<20} {'-':>10} {'-':>12} {size:>9}  unusable: {row.problem}")
            continue
        resolution = f"{row.info.resolution}x{row.info.resolution}"
        print(f"{name:<20} {resolution:>10} {row.parameters:>12,} {size:>9}  {row.info.description}")
    return 0


def setup_logging(level: str) -> None:
    logging.basicConfig(
        level={"quiet": logging.WARNING, "info": logging.INFO, "verbose": logging.DEBUG}[level],
        format="%(asctime)s %(levelname)s %(message)s",
        datefmt="%H:%M:%S",
        stream=sys.stderr,
    )


if __name__ == "__main__":
    sys.exit(main())
