"""The `ltsd` command: parses flags, builds a Config, hands over; user mistakes exit 2."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ltsd.errors import EXIT_USER_ERROR, LtsdError
from ltsd.logs import setup_logging
from ltsd.train.recipe import Degradation

L1_SCALES = (1, 2, 4, 8)  # `ltsd train --l1-scale`: every pixel, or the images averaged over N×N

if TYPE_CHECKING:
    from ltsd.config import Config

DEVICE_HELP = "auto (CUDA, then MPS, then CPU), cpu, cuda or mps"
PRECISION_HELP = "auto (default: bf16 where the CPU has it natively), fp32 or bf16"
RUNTIME_HELP = "torch (default) or openvino (CPU only; pip install -e '.[openvino]')"
if sys.platform == "darwin":  # read when torch starts (nothing here imports it): ops Metal lacks
    os.environ.setdefault("PYTORCH_ENABLE_MPS_FALLBACK", "1")  # then run on the CPU


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
    run.add_argument("--source", help="synthetic, browser, ndi:NAME, file:PATH, images:DIR, "
                     "camera:DEVICE, syphon:NAME (macOS) or spout:NAME (Windows)")  # fmt: skip
    run.add_argument("--ndi-name", help="name of the published output (default ltsd)")
    run.add_argument("--sink", action="append", help="output, repeatable: ndi, null, file:PATH, "
                     "syphon, spout (default ndi)")  # fmt: skip
    run.add_argument("--extra-ips", help="comma list of IPs for NDI discovery, e.g. 127.0.0.1")
    run.add_argument("--model", help="model name in the models folder")
    run.add_argument("--models-dir", help="folder of .safetensors models")
    run.add_argument("--device", help=DEVICE_HELP)
    run.add_argument("--precision", help=PRECISION_HELP)
    run.add_argument("--runtime", help=RUNTIME_HELP)
    run.add_argument("--frames", type=int, help="stop cleanly after N output frames")
    run.add_argument("--osc-host", help="address OSC listens on (0.0.0.0 for the LAN)")
    run.add_argument("--osc-port", type=int, help="UDP port for OSC (default 9000)")
    run.add_argument("--oscquery-port", type=int,
                     help="HTTP port for OSCQuery and the web page (0 = off)")  # fmt: skip
    run.add_argument("--tls", action="store_true", default=None,
                     help="serve the page over HTTPS too (web.tls_port): a phone's camera "
                     "needs it")  # fmt: skip
    verbosity = run.add_mutually_exclusive_group()
    verbosity.add_argument("--quiet", action="store_true", help="warnings and errors only")
    verbosity.add_argument("--verbose", action="store_true", help="debug logging")
    run.set_defaults(handler=run_command)

    train = commands.add_parser("train", help="make a new world from a folder of images")
    train.add_argument("images_dir", type=Path, help="folder of target images (nested folders too)")
    train.add_argument("--name", required=True, help="name of the model to write")
    train.add_argument("--models-dir", help="where to write it (default: the shipped models/)")
    train.add_argument("--resolution", type=int, default=256, help="model size in px (default 256)")
    train.add_argument("--ngf", type=int, default=8, help="generator width (default 8)")
    train.add_argument("--max-filters", type=int, default=128, help="channel cap (default 128)")
    train.add_argument(
        "--upsample", choices=("nearest", "transposed"), default="nearest",
        help="decoder: nearest (resize-convolution, no checkerboard; default) or transposed",
    )  # fmt: skip
    train.add_argument(
        "--padding", choices=("reflect", "zeros"), default="reflect",
        help="border: reflect (default; needs --upsample nearest) or zeros",
    )  # fmt: skip
    train.add_argument(
        "--chroma", choices=("half", "full"), default="half",
        help="colour at half resolution, as cameras and JPEG keep it (default; no colour "
             "speckle), or at every pixel (pix2pix's, and model files from before it)",
    )  # fmt: skip
    train.add_argument("--ndf", type=int, default=16, help="discriminator width (default 16)")
    train.add_argument("--d-scales", type=int, default=2,
                       help="discriminators at 1, 1/2, … of the size (default 2)")  # fmt: skip
    train.add_argument("--steps", type=int,
                       help="total steps; the learning rate decays over the second half "
                            "(default 2000, or none with --minutes)")  # fmt: skip
    train.add_argument("--minutes", type=float,
                       help="stop this sitting after this long (with --resume: train over "
                            "several sittings toward --steps)")  # fmt: skip
    train.add_argument("--batch-size", type=int, default=4)
    train.add_argument("--l1-weight", type=float, default=100.0,
                       help="weight of the L1 loss (default 100; lower: more texture, "
                            "less faithful)")  # fmt: skip
    train.add_argument("--l1-scale", type=int, default=1, choices=L1_SCALES,
                       help="the L1 loss on the images averaged over N×N pixels (default "
                            "1: every pixel; 2 or 4 leave the finest bands to the other "
                            "losses)")  # fmt: skip
    train.add_argument("--no-features", action="store_true",
                       help="train without the pretrained feature network (no 'train' extra "
                            "needed; the pre-0.2 recipe)")  # fmt: skip
    train.add_argument(
        "--projected-weight",
        type=float,
        default=1.0,
        help="weight of the discriminator on pretrained features (default 1)",
    )
    train.add_argument(
        "--perceptual-weight",
        type=float,
        default=2.0,
        help="weight of the perceptual loss on pretrained features (default 2)",
    )
    train.add_argument(
        "--fine-chroma-weight",
        type=float,
        default=100.0,
        help="weight of the loss on the finest colour detail, which keeps colour speckle out "
        "(default 100; 0: none, the pre-0.2 recipe)",
    )
    train.add_argument(
        "--pan-weight",
        type=float,
        default=0.0,
        help="weight of the loss that makes two views of a slow pan agree, against flicker "
        "(default 0: none)",
    )
    train.add_argument(
        "--texture-weight",
        type=float,
        default=0.0,
        help="weight of the loss that matches the distribution of small patches at every scale "
        "to the world's photographs' (default 0: none)",
    )
    train.add_argument(
        "--layout-weight",
        type=float,
        default=0.0,
        help="weight of the same patch loss on the 16 px low-pass rest: the tones and colours of "
        "the layout, matched to the world's photographs' (default 0: the layout is the camera's)",
    )
    train.add_argument(
        "--fine-texture-weight",
        type=float,
        default=0.0,
        help="weight of a discriminator that sees only the 1-4 px detail of the world's crops and "
        "of what the generator makes, the camera's images included (default 0: none)",
    )
    train.add_argument(
        "--fine-texture-learning-rate",
        type=float,
        help="learning rate of that discriminator (default: --learning-rate); higher lets a "
        "fresh one catch up with a trained generator (two time-scale updates, Heusel et al. 2017)",
    )
    train.add_argument(
        "--camera-images",
        type=Path,
        help="folder of images of what the camera will see (not of the world): the world learns "
        "to draw itself over them too, judged only by the feature discriminator and the texture "
        "loss, whichever are on (no target to copy)",
    )
    train.add_argument(
        "--camera-weight",
        type=float,
        default=1.0,
        help="weight of the feature discriminator on what it makes of --camera-images (default 1)",
    )
    train.add_argument(
        "--init-from",
        metavar="MODEL",
        help="start the generator from this world (a .safetensors file, or a name in "
        "--models-dir) instead of from scratch; its discriminators start fresh. Needs the same "
        "generator size; ignored with --resume (the checkpoint holds the weights)",
    )
    train.add_argument(
        "--discriminator-warmup",
        type=int,
        default=0,
        metavar="STEPS",
        help="the first STEPS steps train only the discriminators, the generator held still: "
        "fresh ones beside an --init-from world learn to judge it first (default 0)",
    )
    train.add_argument("--learning-rate", type=float, default=2e-4,
                       help="Adam's rate, held for the first half of --steps, then decayed to 0 "
                            "(default 0.0002; lower for --init-from)")  # fmt: skip
    train.add_argument("--device", default="auto", help=DEVICE_HELP)
    train.add_argument("--seed", type=int, default=0)
    train.add_argument("--flips", action="store_true", help="random horizontal/vertical flips")
    train.add_argument(
        "--mirror",
        action="store_true",
        help="random left-right flips only (worlds with a sky above: sea, clouds)",
    )
    recipe = Degradation()
    train.add_argument("--brightness-jitter", type=float, default=recipe.brightness_jitter,
                       help="random brightness added to each training input, up to ± this "
                       f"(default {recipe.brightness_jitter}; larger: the world stops reading a "
                       "bright camera as one kind of picture)")  # fmt: skip
    train.add_argument(
        "--contrast-jitter",
        type=float,
        default=recipe.contrast_jitter,
        help=f"random contrast of each training input, 1 ± this (default {recipe.contrast_jitter})",
    )
    train.add_argument("--darken", type=float, default=recipe.darken,
                       help="multiply each training photograph by a random gain from 1 − this to 1 "
                       "(default 0): the world also learns dark pictures of itself, for dark "
                       "rooms and dusk")  # fmt: skip
    train.add_argument("--resume", action="store_true", help="continue from the run's checkpoint")
    train.add_argument("--run-dir", type=Path, help="checkpoints and sample sheets (default: "
                       "runs/NAME)")  # fmt: skip
    train.add_argument("--checkpoint-every", type=int, default=500, help="steps (default 500)")
    train.add_argument(
        "--statistics-batches",
        type=int,
        default=25,
        metavar="N",
        help="batches on which each save measures the exported world's batch-norm statistics; "
        "0 keeps the training's running ones (default 25)",
    )
    train.set_defaults(handler=train_command)

    bench = commands.add_parser("bench", help="measure generator speed; prints a markdown table")
    bench.add_argument("--models-dir", help="folder of .safetensors models")
    bench.add_argument("--resolutions", default="256,512", help="comma list (default 256,512)")
    bench.add_argument("--device", default="auto", help=DEVICE_HELP)
    bench.add_argument("--runs", type=int, default=50, help="timed frames per row (default 50)")
    bench.add_argument("--output", type=Path, help="also write the table to this markdown file")
    bench.add_argument("--sinks", action="store_true", help="time one send() per sink, instead")
    bench.add_argument(
        "--stages", action="store_true", help="time each stage of the CPU frame path, instead"
    )
    bench.add_argument(
        "--osc", action="store_true", help="time OSC handling per message and batch, instead"
    )
    bench.add_argument(
        "--receive", action="store_true", help="CPU of receiving NDI as UYVY vs BGRX, instead"
    )
    bench.add_argument(
        "--e2e",
        action="store_true",
        help="end to end over NDI on loopback against a bare relay, instead",
    )
    bench.add_argument("--sizes", default="640x360,1280x720,1920x1080", help="--e2e camera sizes")
    bench.add_argument("--camera-fps", type=int, default=60, help="--e2e camera rate")
    bench.add_argument("--seconds", type=float, default=10.0, help="--e2e measured seconds per run")
    bench.add_argument("--model", default="ocean", help="--e2e model")
    bench.add_argument(
        "--random-ngf", type=int, default=0,
        help="--e2e: a random-weights world of the shipped architecture this wide, not --model",
    )  # fmt: skip
    bench.add_argument("--precision", help="--e2e: ltsd run's --precision")
    bench.add_argument("--runtime", help="--e2e: ltsd run's --runtime")
    bench.add_argument(
        "--osc-flood",
        type=int,
        default=0,
        help="--e2e: also run ltsd while sending this many OSC messages a second",
    )
    bench.add_argument(
        "--osc-burst",
        type=int,
        default=0,
        help="--e2e: also run ltsd with this many OSC messages sent within one second mid-run",
    )
    bench.add_argument(
        "--peers", action="store_true",
        help="ltsd's generator against torch eager, ONNX Runtime and OpenVINO (when installed), "
        "interleaved, instead",
    )  # fmt: skip
    bench.add_argument("--rounds", type=int, default=15, help="--peers: interleaved rounds")
    bench.add_argument(
        "--viewer", action="store_true",
        help="--e2e: also run ltsd with its web page's two preview streams watched",
    )  # fmt: skip
    bench.set_defaults(handler=bench_command)

    render = commands.add_parser("render", help="a clip or image folder through a world, offline")
    render.add_argument("input", type=Path, help="a video file or a folder of images")
    render.add_argument("output", type=Path, help="the video to write (.mp4, .mov, .mkv)")
    render.add_argument("--config", type=Path, help="YAML config (its params: are used)")
    render.add_argument("--model", help="model name in the models folder")
    render.add_argument("--models-dir", help="folder of .safetensors models")
    render.add_argument("--size", help="output WIDTHxHEIGHT (default: the input's)")
    render.add_argument("--fps", type=float, help="output frame rate (default: the input's)")
    render.add_argument("--device", help=DEVICE_HELP)
    render.add_argument("--precision", help=PRECISION_HELP)
    render.add_argument("--runtime", help=RUNTIME_HELP)
    render.add_argument("--quiet", action="store_true", help="no progress line")
    render.set_defaults(handler=render_command)

    sources = commands.add_parser("sources", help="list the sources ltsd can see")
    sources.add_argument("--extra-ips", default="", help="comma list of IPs for NDI discovery")
    sources.set_defaults(handler=sources_command)

    schedule = commands.add_parser("schedule", help="what the config's schedule will do next")
    schedule.add_argument("--config", type=Path, help="YAML config file with a schedule:")
    schedule.add_argument("--hours", type=float, default=24.0, help="how far ahead (default 24)")
    schedule.set_defaults(handler=schedule_command)

    models = commands.add_parser("models", help="list the models in the models folder")
    models.add_argument("--models-dir", help="folder of .safetensors models")
    models.set_defaults(handler=models_command)

    imports = commands.add_parser("import", help="a pix2pix generator from another tool")
    imports.add_argument("source", type=Path,
                         help="junyanz's latest_net_G.pth (docs/models.md)")  # fmt: skip
    imports.add_argument("--name", required=True, help="name of the model to write")
    imports.add_argument("--models-dir", help="where to write it (default: the shipped models/)")
    imports.add_argument(
        "--resolution", type=int, help="size it was trained at (default: least its depth allows)"
    )
    colour = imports.add_mutually_exclusive_group()
    colour.add_argument(
        "--grayscale", action="store_true", default=None,
        help="trained on grey input (default: when it takes 1 channel)",
    )  # fmt: skip
    colour.add_argument("--colour", dest="grayscale", action="store_false",
                        help="it was trained on colour input")  # fmt: skip
    imports.add_argument("--blur", type=float, default=1.0,
                         help="the blur_factor it was trained with (default 1: none)")  # fmt: skip
    imports.set_defaults(handler=import_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    from ltsd.config import load_config

    config = with_scenes_beside(load_config(args.config, run_overrides(args)), args.config)
    setup_logging(config.log.level)
    if args.frames is not None and args.frames < 1:
        raise LtsdError(f"--frames: expected a positive integer, got {args.frames}")
    from ltsd.daemon import Daemon

    reload = (
        (lambda: with_scenes_beside(load_config(args.config, run_overrides(args)), args.config))
        if args.config
        else None
    )
    code = Daemon(config, max_frames=args.frames, reload_config=reload).run()
    exit_now(code)
    return code  # not reached


def exit_now(code: int) -> None:
    """End the process once the daemon has closed every output (recordings finished, senders
    destroyed): the interpreter's own teardown, torch's above all, takes 0.5-1 s more on a
    2-core machine, and ltsd promises to stop within 2 s of a signal."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def run_overrides(args: argparse.Namespace) -> dict[str, Any]:
    """Flags as a partial config mapping, so they are validated exactly like the file."""
    flags = {
        ("source", "spec"): args.source,
        ("source", "extra_ips"): args.extra_ips,
        ("output", "ndi_name"): args.ndi_name,
        ("output", "sinks"): args.sink,
        ("model", "name"): args.model,
        ("model", "models_dir"): args.models_dir,
        ("model", "device"): args.device,
        ("model", "precision"): args.precision,
        ("model", "runtime"): args.runtime,
        ("osc", "host"): args.osc_host,
        ("osc", "port"): args.osc_port,
        ("osc", "oscquery_port"): args.oscquery_port,
        ("web", "tls"): args.tls,
        ("log", "level"): "quiet" if args.quiet else "verbose" if args.verbose else None,
    }
    overrides: dict[str, Any] = {}
    for (section, key), value in flags.items():
        if value is not None:
            overrides.setdefault(section, {})[key] = value
    return overrides


def world_file(text: str, models_dir: Path) -> Path:
    """`--init-from`'s model: a file path, or a world's name in the models folder."""
    from ltsd.modelstore import SUFFIX, model_path, not_found

    path = Path(text) if text.endswith(SUFFIX) or "/" in text else model_path(models_dir, text)
    if not path.is_file():
        raise LtsdError(f"--init-from: {not_found(path)}")
    return path


def train_command(args: argparse.Namespace) -> int:
    import math
    import re

    from ltsd.config import ModelConfig
    from ltsd.daemon import pick_device
    from ltsd.modelstore import MAX_RESOLUTION
    from ltsd.train.trainer import TrainSettings, train

    setup_logging("info")
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}", args.name):
        raise LtsdError(
            f"--name: {args.name[:100]!r} is not a plain model name (letters, digits, _ . -)"
        )
    resolution = args.resolution
    if not (128 <= resolution <= MAX_RESOLUTION and resolution % 128 == 0):
        raise LtsdError(f"--resolution: expected a multiple of 128 from 128 to {MAX_RESOLUTION}, "
                        f"got {resolution}")  # fmt: skip
    steps = args.steps if args.steps is not None or args.minutes else 2000
    positive = (("--batch-size", args.batch_size), ("--d-scales", args.d_scales),
                ("--ngf", args.ngf), ("--max-filters", args.max_filters), ("--ndf", args.ndf),
                ("--checkpoint-every", args.checkpoint_every))  # fmt: skip
    for flag, value in positive:
        if value < 1:
            raise LtsdError(f"{flag}: expected a positive integer, got {value}")
    if args.minutes is not None and not (math.isfinite(args.minutes) and args.minutes > 0):
        raise LtsdError(f"--minutes: expected a positive number, got {args.minutes:g}")
    for flag, value in (
        ("--l1-weight", args.l1_weight),
        ("--projected-weight", args.projected_weight),
        ("--perceptual-weight", args.perceptual_weight),
        ("--fine-chroma-weight", args.fine_chroma_weight),
        ("--pan-weight", args.pan_weight),
        ("--texture-weight", args.texture_weight),
        ("--layout-weight", args.layout_weight),
        ("--fine-texture-weight", args.fine_texture_weight),
        ("--camera-weight", args.camera_weight),
    ):
        if not (math.isfinite(value) and value >= 0):
            raise LtsdError(f"{flag}: expected a number of at least 0, got {value:g}")
    for flag, value in (("--brightness-jitter", args.brightness_jitter),
                        ("--contrast-jitter", args.contrast_jitter),
                        ("--darken", args.darken)):  # fmt: skip
        if not (math.isfinite(value) and 0 <= value < 1):
            raise LtsdError(f"{flag}: expected a number from 0 to under 1, got {value:g}")
    if steps is not None and steps < 1:
        raise LtsdError(f"--steps: expected a positive integer, got {steps}")
    if (warmup := args.discriminator_warmup) < 0:
        raise LtsdError(f"--discriminator-warmup: expected 0 or more steps, got {warmup}")
    if (batches := args.statistics_batches) < 0:
        raise LtsdError(f"--statistics-batches: expected 0 or more batches, got {batches}")
    rates = {"--learning-rate": args.learning_rate,
             "--fine-texture-learning-rate": args.fine_texture_learning_rate}  # fmt: skip
    for flag, rate in rates.items():
        if rate is not None and not (math.isfinite(rate) and 0 < rate <= 1):
            raise LtsdError(f"{flag}: expected a number in (0, 1], got {rate:g}")
    if args.padding == "reflect" and args.upsample == "transposed":
        raise LtsdError("--padding reflect needs --upsample nearest")
    judges_camera = (
        not args.no_features or args.texture_weight or args.layout_weight
        or args.fine_texture_weight
    )  # fmt: skip
    if args.camera_images is not None and not judges_camera:
        raise LtsdError(  # without one, nothing judges what the world makes of them
            "--camera-images needs the feature discriminator, --texture-weight, --layout-weight "
            "or --fine-texture-weight"
        )
    if args.camera_images is not None and not args.camera_images.is_dir():
        raise LtsdError(f"--camera-images: {args.camera_images}: folder not found")
    models_dir = ModelConfig(models_dir=args.models_dir or "").models_path()
    settings = TrainSettings(
        images_dir=args.images_dir,
        name=args.name,
        models_dir=models_dir,
        resolution=args.resolution,
        ngf=args.ngf,
        max_filters=args.max_filters,
        depth=8 if args.resolution % 2**8 == 0 else 7,
        upsample=args.upsample,
        padding=args.padding,
        chroma=args.chroma,
        ndf=args.ndf,
        discriminator_scales=args.d_scales,
        steps=steps,
        minutes=args.minutes,
        batch_size=args.batch_size,
        l1_weight=args.l1_weight,
        l1_scale=args.l1_scale,
        projected_weight=0.0 if args.no_features else args.projected_weight,
        perceptual_weight=0.0 if args.no_features else args.perceptual_weight,
        fine_chroma_weight=args.fine_chroma_weight,
        pan_weight=args.pan_weight,
        texture_weight=args.texture_weight,
        layout_weight=args.layout_weight,
        fine_texture_weight=args.fine_texture_weight,
        fine_texture_learning_rate=args.fine_texture_learning_rate,
        camera_dir=args.camera_images,
        camera_weight=args.camera_weight,
        init_from=world_file(args.init_from, models_dir) if args.init_from else None,
        discriminator_warmup=args.discriminator_warmup,
        learning_rate=args.learning_rate,
        device=pick_device(args.device),
        seed=args.seed,
        recipe=Degradation(
            brightness_jitter=args.brightness_jitter,
            contrast_jitter=args.contrast_jitter,
            flips=args.flips,
            mirror=args.mirror,
            darken=args.darken,
        ),
        resume=args.resume,
        run_dir=args.run_dir,
        checkpoint_every=args.checkpoint_every,
        sample_every=args.checkpoint_every,
        statistics_batches=args.statistics_batches,
    )
    result = train(settings)
    if result.exported:
        print(f"wrote {result.path} after {result.steps} steps (L1 {result.l1:.4f})")
    return 0


def bench_e2e_command(args: argparse.Namespace) -> int:
    import tempfile

    if not args.random_ngf:
        return _bench_e2e(args)
    if not 1 <= args.random_ngf <= 128:
        raise LtsdError(f"--random-ngf: expected 1 to 128, got {args.random_ngf}")
    from ltsd.harness.gpu_check import save_random_world

    with tempfile.TemporaryDirectory() as folder:
        args.model = f"random-ngf{args.random_ngf}"
        args.models_dir = folder
        save_random_world(Path(folder), args.model, 256, ngf=args.random_ngf)
        return _bench_e2e(args)


def _bench_e2e(args: argparse.Namespace) -> int:
    import platform

    from ltsd.harness.e2e import RunShape, markdown, measure

    sizes = _sizes(args.sizes)
    relay = [sys.executable, "-m", "ltsd.harness.relay", "--source", "ndi:{camera}",
             "--ndi-name", "{output}"]  # fmt: skip
    runs = []
    for width, height in sizes:
        shape = RunShape(width, height, args.camera_fps, args.seconds)
        first = len(runs)
        runs.append(measure("relay", relay, shape))
        osc_port = 9000 + (width % 997)
        ltsd_run = [sys.executable, "-m", "ltsd.cli", "run", "--source", "ndi:{camera}",
                    "--extra-ips", "127.0.0.1", "--ndi-name", "{output}", "--model", args.model,
                    "--device", args.device, "--quiet", "--osc-port", str(osc_port),
                    "--oscquery-port", "0"]  # fmt: skip
        if args.models_dir:
            ltsd_run += ["--models-dir", args.models_dir]
        for flag in ("precision", "runtime"):
            if getattr(args, flag):
                ltsd_run += [f"--{flag}", getattr(args, flag)]
        runs.append(measure("ltsd", ltsd_run, shape))
        if args.osc_flood:
            runs.append(measure("ltsd", ltsd_run, shape, osc_port, args.osc_flood))
        if args.osc_burst:
            runs.append(measure("ltsd", ltsd_run, shape, osc_port, osc_burst=args.osc_burst))
        if args.viewer:
            web_port = osc_port + 1
            at = ltsd_run.index("--oscquery-port") + 1  # the page served, and watched
            watched = [*ltsd_run[:at], str(web_port), *ltsd_run[at + 1 :]]
            runs.append(measure("ltsd", watched, shape, viewer_port=web_port))
        print(markdown(runs[first:]), flush=True)
    header = (
        f"End to end over NDI on loopback, model {args.model}, device {args.device}, "
        f"precision {args.precision or 'auto'}, runtime {args.runtime or 'torch'}, "
        f"{platform.machine()}, {os.cpu_count()} CPUs, {args.seconds:g} s per run"
    )
    return publish_table(header, markdown(runs), args.output)


def bench_sinks_command(args: argparse.Namespace) -> int:
    import tempfile

    from ltsd.bench import sink_costs

    with tempfile.TemporaryDirectory() as folder:
        rows = sink_costs(640, 360, args.runs, Path(folder))
    lines = [f"| {name} | {p50:.2f} | {p95:.2f} |" for name, p50, p95 in rows]
    table = "\n".join(["| sink | p50 ms per frame | p95 ms |", "|---|---|---|", *lines])
    header = f"One send() of a 640x360 BGRX frame, {args.runs} frames per sink"
    return publish_table(header, table, args.output)


def bench_stages_command(args: argparse.Namespace) -> int:
    from ltsd.config import ModelConfig
    from ltsd.daemon import set_cpu_threads
    from ltsd.harness.stages import markdown, stage_rows
    from ltsd.modelstore import model_path

    threads = set_cpu_threads(0)
    models_dir = ModelConfig(models_dir=args.models_dir or "").models_path()
    rows = stage_rows(model_path(models_dir, args.model), _sizes(args.sizes), args.runs)
    header = (f"Each stage of the CPU frame path, model {args.model}, {threads} torch thread(s) "
              f"(as ltsd runs), {args.runs} frames, interleaved")  # fmt: skip
    return publish_table(header, markdown(rows), args.output)


def bench_osc_command(args: argparse.Namespace) -> int:
    from ltsd.config import ModelConfig
    from ltsd.harness.osc_cost import markdown, osc_costs

    models_dir = ModelConfig(models_dir=args.models_dir or "").models_path()
    rows = osc_costs(models_dir, args.model, [1, 16, 512], 20_000)
    header = "OSC handling in-process: 20,000 messages turning four knobs, one subscriber echoed"
    return publish_table(header, markdown(rows), args.output)


def bench_receive_command(args: argparse.Namespace) -> int:
    from ltsd.harness.receive_cost import markdown, receive_costs

    rows = []
    for width, height in _sizes(args.sizes):
        rows += [(f"{width}x{height} {c}", f, p) for c, f, p in
                 receive_costs(width, height, args.camera_fps, args.seconds)]  # fmt: skip
    header = f"Receiving a {args.camera_fps} fps NDI camera on loopback, {args.seconds:g} s per run"
    return publish_table(header, markdown(rows), args.output)


def _sizes(text: str) -> list[tuple[int, int]]:
    try:
        sizes = [tuple(int(n) for n in size.split("x")) for size in text.split(",")]
    except ValueError:
        raise LtsdError(f"--sizes: expected WxH[,WxH...], got {text!r}") from None
    if any(len(size) != 2 or not (16 <= size[0] <= 7680 and 16 <= size[1] <= 4320)
           for size in sizes):  # fmt: skip
        raise LtsdError(f"--sizes: expected WxH[,WxH...] from 16x16 to 7680x4320, got {text!r}")
    return sizes  # type: ignore[return-value]


def bench_peers_command(args: argparse.Namespace) -> int:
    import platform

    import torch

    from ltsd.config import ModelConfig
    from ltsd.daemon import set_cpu_threads
    from ltsd.harness.peers import (
        bf16_levels,
        compare,
        load_costs,
        load_markdown,
        markdown,
        runtimes,
    )  # fmt: skip
    from ltsd.modelstore import model_path, read_info

    if args.rounds < 1 or args.runs < 1:
        raise LtsdError("--rounds and --runs must be positive")
    threads = set_cpu_threads(0)
    path = model_path(ModelConfig(models_dir=args.models_dir or "").models_path(), args.model)
    info = read_info(path)
    found = runtimes(path, info.resolution, threads)
    rows = compare(found, info.architecture.in_channels, info.resolution, args.rounds, args.runs)
    missing = [name for name in ("ONNX Runtime", "OpenVINO f32") if name not in found]
    header = (
        f"Generator only, {args.model} at {info.resolution}², batch 1, "
        f"{platform.processor() or platform.machine()}, torch {torch.__version__}, {threads} "
        f"threads, {args.rounds} interleaved rounds of {args.runs} forwards"
        + (f"; not installed: {', '.join(missing)}" if missing else "")
    )
    table = markdown(rows)
    if "ltsd bf16" in found:
        mean, most = bf16_levels(path)
        table += (f"\n\nltsd bf16 against fp32 on the six sample photographs, as played: mean "
                  f"{mean:.2f}, max {most:.1f} levels of 255")  # fmt: skip
    table += "\n\n" + load_markdown(load_costs(path))
    return publish_table(header, table, args.output)


def bench_command(args: argparse.Namespace) -> int:
    import platform

    import torch

    from ltsd.bench import generator_table, markdown
    from ltsd.config import ModelConfig
    from ltsd.daemon import pick_device

    if args.e2e:
        return bench_e2e_command(args)
    if args.sinks:
        return bench_sinks_command(args)
    if args.stages:
        return bench_stages_command(args)
    if args.osc:
        return bench_osc_command(args)
    if args.receive:
        return bench_receive_command(args)
    if args.peers:
        return bench_peers_command(args)
    try:
        resolutions = [int(value) for value in args.resolutions.split(",")]
    except ValueError:
        raise LtsdError(
            f"--resolutions: expected a comma list of integers, got {args.resolutions!r}"
        ) from None
    if args.runs < 1 or any(r < 256 or r % 256 for r in resolutions):
        raise LtsdError("--runs must be positive and --resolutions multiples of 256")
    device = pick_device(args.device)
    models_dir = ModelConfig(models_dir=args.models_dir or "").models_path()
    rows = generator_table(models_dir, resolutions, device, args.runs)
    where = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor()
    header = (
        f"Generator only, batch 1, {device.type} ({where or platform.machine()}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {args.runs} runs per row"
    )
    return publish_table(header, markdown(rows), args.output)


def render_command(args: argparse.Namespace) -> int:
    from fractions import Fraction

    from ltsd.config import load_config
    from ltsd.daemon import pick_device, pick_precision, pick_runtime, set_cpu_threads
    from ltsd.modelstore import load_model, model_path
    from ltsd.params import ParamStore
    from ltsd.pipeline import FrameProcessor
    from ltsd.render import render

    overrides: dict[str, Any] = {"log": {"level": "quiet" if args.quiet else "info"}}
    for key, value in (
        ("name", args.model),
        ("models_dir", args.models_dir),
        ("device", args.device),
        ("precision", args.precision),
        ("runtime", args.runtime),
    ):
        if value is not None:
            overrides.setdefault("model", {})[key] = value
    config = load_config(args.config, overrides)
    size = None
    if args.size:
        try:
            width, height = (int(n) for n in args.size.lower().split("x"))
        except ValueError:
            raise LtsdError(f"--size: expected WIDTHxHEIGHT, got {args.size!r}") from None
        if not (2 <= width <= 7680 and 2 <= height <= 4320):
            raise LtsdError(f"--size: {args.size} is outside 2x2..7680x4320")
        size = (width, height)
    if args.fps is not None and not 1 <= args.fps <= 240:
        raise LtsdError(f"--fps: expected 1 to 240, got {args.fps:g}")
    setup_logging("quiet" if args.quiet else "info")
    device = pick_device(config.model.device)
    precision = pick_precision(config.model.precision, device)
    runtime = pick_runtime(config.model.runtime, device)
    set_cpu_threads(config.model.cpu_threads)
    path = model_path(config.model.models_path(), config.model.name)
    model = load_model(path, device, precision, runtime)
    processor = FrameProcessor(model, ParamStore(config.params), device, size)
    fps = Fraction(args.fps).limit_denominator(1001) if args.fps else None
    result = render(args.input, args.output, processor, fps, size, show_progress=not args.quiet)
    audio = ", audio carried over" if result.audio else ""
    print(f"wrote {args.output}: {result.frames} frames, {result.width}x{result.height} "
          f"@ {float(result.rate):g} fps{audio}")  # fmt: skip
    return 0


def sources_command(args: argparse.Namespace) -> int:
    from ltsd.ndi import discover_all
    from ltsd.sources.camera import list_cameras
    from ltsd.sources.spout import spout_names
    from ltsd.sources.syphon import syphon_names

    names = discover_all(args.extra_ips)
    print("synthetic                  (built in)")
    for name in names:
        print(f"ndi:{name}")
    for spec in list_cameras():
        print(spec)
    for kind, found in (("syphon", syphon_names()), ("spout", spout_names())):
        for name in found:  # empty unless the platform's package is installed
            print(f"{kind}:{name}")
    if not names:
        hint = (
            ""
            if args.extra_ips
            else " (no mDNS here? try --extra-ips 127.0.0.1 or the sender's IP)"
        )
        print(f"no NDI sources found{hint}")
    return 0


def publish_table(header: str, table: str, output: Path | None) -> int:
    """Print a benchmark table under its header, and write it to `output` when asked."""
    text = f"{header}\n\n{table}"
    print(text)
    if output:
        output.write_text(text + "\n")
    return 0


def import_command(args: argparse.Namespace) -> int:
    from ltsd.config import ModelConfig
    from ltsd.importers import ImportOptions, import_model

    setup_logging("info")
    models_dir = ModelConfig(models_dir=args.models_dir or "").models_path()
    options = ImportOptions(args.resolution, args.grayscale, args.blur)
    path = import_model(args.source, args.name, models_dir, options)
    print(f"wrote {path}")
    return 0


def schedule_command(args: argparse.Namespace) -> int:
    from ltsd.config import load_config
    from ltsd.control.schedule import Scheduler, parse_entry, zone_of

    config = load_config(args.config)
    if not 0 < args.hours <= 24 * 14:
        raise LtsdError(f"--hours: expected 0 to 336, got {args.hours:g}")
    entries = [parse_entry(text) for text in config.schedule.entries]
    zone = zone_of(config.schedule.timezone)
    upcoming = Scheduler(entries, zone, lambda entry: None).upcoming(args.hours)
    if not upcoming:
        print(f"nothing scheduled in the next {args.hours:g} hours")
    for when, entry in upcoming:
        print(f"{when.astimezone(zone):%a %Y-%m-%d %H:%M %Z}  {entry.text}")
    return 0


def models_command(args: argparse.Namespace) -> int:
    from ltsd.config import ModelConfig
    from ltsd.levels import KNOBS_ALONE
    from ltsd.modelstore import list_models

    models_dir = ModelConfig(models_dir=args.models_dir or "").models_path()
    rows = list_models(models_dir)
    if not rows:
        print(f"no models in {models_dir}")
        return 0
    print(f"{'name':<20} {'resolution':>10} {'parameters':>12} {'size':>9} {'levels':>12}  "
          "description")  # fmt: skip
    for row in rows:
        name = row.path.name.removesuffix(".safetensors")
        size = f"{row.size_bytes / 1e6:.1f} MB"
        if row.info is None:
            print(f"{name:<20} {'-':>10} {'-':>12} {size:>9} {'-':>12}  unusable: {row.problem}")
            continue
        resolution = f"{row.info.resolution}x{row.info.resolution}"
        levels = row.info.levels  # the world's own brightness and contrast (ltsd.levels)
        shown = "-" if levels == KNOBS_ALONE else f"{levels.brightness:+.2f} x{levels.contrast:.2f}"
        print(f"{name:<20} {resolution:>10} {row.parameters:>12,} {size:>9} {shown:>12}  "
              f"{row.info.description}")  # fmt: skip
    return 0


def with_scenes_beside(config: Config, config_file: Path | None) -> Config:
    """`scenes.path` empty: scenes.yaml beside the config file (or in ~/.config/ltsd)."""
    if config.scenes.path:
        return config
    from ltsd.control.scenes import default_path

    scenes = dataclasses.replace(config.scenes, path=str(default_path(config_file)))
    return dataclasses.replace(config, scenes=scenes)


if __name__ == "__main__":
    sys.exit(main())
