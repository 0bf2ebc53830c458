"""Issue #19 on the real daemon: hostile files, hostile senders and bad luck leave the show running.

Each test starts `ltsd run` as a subprocess with real files, real UDP and a real NDI receiver, and
checks what the audience and the operator would see: frames still flowing, one line naming the bad
thing, the running state kept.
"""

from __future__ import annotations

import contextlib
import signal
import socket
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest
from PIL import Image
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from ltsd.harness.receiver import NdiReceiver, ReceivedFrame
from tests.conftest import Processes, free_udp_port, run_ltsd, unique_name
from tests.helpers.clips import write_clip
from tests.helpers.models import write_constant_model
from tests.helpers.osc_client import OscPeer
from tests.osc_strategies import bundle_of
from tests.test_model_files import crafted_cases


def start_daemon(
    processes: Processes, models_dir: Path, tmp_path: Path, source: str, *extra: str,
    config: str = "",
) -> tuple[subprocess.Popen, str, OscPeer]:  # fmt: skip
    """`ltsd run` from `source` to a fresh NDI name, with its OSC port; waits until it answers."""
    output, port = unique_name("hard"), free_udp_port()
    config_file = tmp_path / "config.yaml"
    config_file.write_text("synthetic:\n  width: 160\n  height: 90\n" + config)
    process = processes.ltsd(
        "run", "--config", str(config_file), "--source", source, "--ndi-name", output,
        "--models-dir", str(models_dir), "--model", "magenta", "--osc-port", str(port),
        "--oscquery-port", "0", *extra,
    )  # fmt: skip
    peer = OscPeer(port)
    peer.wait_for(process)
    return process, output, peer


def stop(process: subprocess.Popen) -> str:
    """SIGTERM, then everything the daemon logged."""
    process.send_signal(signal.SIGTERM)
    return process.communicate(timeout=20)[1]


def png_with_flipped_bytes(path: Path) -> Path:
    Image.linear_gradient("L").resize((96, 64)).save(path)
    data = bytearray(path.read_bytes())
    for offset in range(len(data) // 2, len(data) // 2 + 8):
        data[offset] ^= 0xFF
    path.write_bytes(bytes(data))
    return path


def decompression_bomb_png(path: Path, width: int = 20000, height: int = 10000) -> Path:
    """A tiny PNG whose header declares `width`×`height`: decoding it would take gigabytes."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    rows = zlib.compress(b"\x00" * (1 + 3 * width) * 16)  # only a few rows: it is 'truncated'

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body)
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", rows) + chunk(b"IEND", b"")
    path.write_bytes(png)
    return path


def frames_until(receiver: NdiReceiver, wanted, timeout_s: float) -> list[ReceivedFrame]:
    """Frames received until `wanted(frames)` holds or the time is up."""
    frames: list[ReceivedFrame] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and not wanted(frames):
        frames += receiver.frames(count=5, timeout_s=2, keep_pixels=False)
    return frames


def test_damaged_and_bomb_stills_are_skipped_and_good_ones_play(processes, models_dir, tmp_path):
    stills = tmp_path / "stills"
    stills.mkdir()
    png_with_flipped_bytes(stills / "a-broken.png")
    decompression_bomb_png(stills / "b-bomb.png")
    Image.new("RGB", (96, 64), (90, 140, 200)).save(stills / "c-good.png")
    process, output, peer = start_daemon(processes, models_dir, tmp_path, f"images:{stills}",
                                         config="source:\n  slide_s: 0.1\n")  # fmt: skip
    receiver = NdiReceiver(output)
    try:
        frames = receiver.frames(count=30, timeout_s=30, keep_pixels=False)
    finally:
        receiver.close()
        peer.close()
    log = stop(process)

    assert len(frames) == 30
    assert {frame.size for frame in frames} == {(96, 64)}
    timecodes = [frame.timecode for frame in frames]
    assert len(set(timecodes)) == len(timecodes), "live frames, not a held one"
    for name in ("a-broken.png", "b-bomb.png"):
        lines = [line for line in log.splitlines() if name in line]
        assert len(lines) == 1, (name, lines)  # once, not once per slide
    assert "Traceback" not in log


def test_a_removed_clip_holds_then_plays_again_when_it_is_back(processes, models_dir, tmp_path):
    clip = write_clip(tmp_path / "clip.mp4", frames=10, size=(128, 72), fps=20)
    process, output, peer = start_daemon(processes, models_dir, tmp_path, f"file:{clip}")
    receiver = NdiReceiver(output)
    try:
        assert len(receiver.frames(count=10, timeout_s=20, keep_pixels=False)) == 10
        clip.rename(tmp_path / "away.mp4")

        def held(frames: list[ReceivedFrame]) -> bool:
            return len(frames) >= 10 and len({f.timecode for f in frames[-10:]}) == 1

        assert held(frames_until(receiver, held, timeout_s=20)), "output must hold the last frame"
        (tmp_path / "away.mp4").rename(clip)

        def moving(frames: list[ReceivedFrame]) -> bool:
            return len(frames) >= 5 and len({f.timecode for f in frames[-5:]}) == 5

        assert moving(frames_until(receiver, moving, timeout_s=30)), "the clip must play again"
        peer.send("/ltsd/source", "synthetic")

        def synthetic(frames: list[ReceivedFrame]) -> bool:
            return bool(frames) and frames[-1].size == (160, 90)

        assert synthetic(frames_until(receiver, synthetic, timeout_s=20))
    finally:
        receiver.close()
        peer.close()
    log = stop(process)
    assert "Traceback" not in log
    assert "no such file" in log


def test_crafted_model_files_are_listed_skipped_and_refused_while_the_show_goes_on(
    processes, models_dir, tmp_path
):
    cases = crafted_cases(models_dir)
    (models_dir / "copy.safetensors").write_bytes((models_dir / "magenta.safetensors").read_bytes())
    write_constant_model(models_dir, "zz-last", (10, 200, 10))
    listing = run_ltsd("models", "--models-dir", str(models_dir))
    assert listing.returncode == 0 and "Traceback" not in listing.stderr, listing.stderr
    for name in [*cases, "copy", "magenta", "zz-last"]:
        assert name in listing.stdout, name

    process, _, peer = start_daemon(processes, models_dir, tmp_path, "synthetic")
    try:
        status = peer.status()
        assert status["/ltsd/status/model"] == "magenta"
        peer.send("/ltsd/model", "very-wide")
        assert peer.messages(until="/ltsd/error")[-1][0] == "/ltsd/error"
        assert peer.status()["/ltsd/status/model"] == "magenta", "a refused model keeps the old"
        peer.send("/ltsd/model", "copy")
        assert peer.status()["/ltsd/status/model"] == "copy", "known by its file name"
        peer.send("/ltsd/model/next")  # over the unusable files that follow "copy"
        assert peer.status()["/ltsd/status/model"] == "magenta"
        peer.send("/ltsd/model/next")
        assert peer.status()["/ltsd/status/model"] == "zz-last"
    finally:
        peer.close()
    log = stop(process)
    assert process.returncode == 0 and "Traceback" not in log


def wait_for(condition, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_signals_reload_report_or_stop_cleanly_and_the_recording_is_readable(
    processes, models_dir, tmp_path
):
    import av

    recording = tmp_path / "rec.mp4"
    process, _, peer = start_daemon(
        processes, models_dir, tmp_path, "synthetic",
        "--sink", "ndi", "--sink", f"file:{recording}",
        config="params:\n  mix: 0.8\n  brightness: 0.1\n",
    )  # fmt: skip
    config = tmp_path / "config.yaml"
    try:
        assert peer.status()["/ltsd/mix"] == pytest.approx(0.8)
        peer.send("/ltsd/pre/brightness", -0.5)  # turned live: an unrelated edit keeps it
        config.write_text(
            "synthetic:\n  width: 160\n  height: 90\nparams:\n  mix: 0.3\n  brightness: 0.1\n"
            "output:\n  size: 320x180\n"
        )
        process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: peer.status()["/ltsd/mix"] == pytest.approx(0.3))
        assert peer.status()["/ltsd/pre/brightness"] == pytest.approx(-0.5)

        config.write_text("params: [unclosed\n")
        process.send_signal(signal.SIGHUP)
        for name in ("SIGUSR1", "SIGUSR2"):
            process.send_signal(getattr(signal, name))
        time.sleep(1.0)
        assert process.poll() is None
        assert peer.status()["/ltsd/mix"] == pytest.approx(0.3), "a bad file keeps the state"
    finally:
        peer.close()
    process.send_signal(signal.SIGQUIT)
    log = process.communicate(timeout=20)[1]
    assert process.returncode == 0, log
    assert "needs a restart to take effect: output.size" in log
    assert "config reload refused" in log and "status: in" in log, log
    with av.open(str(recording)) as container:
        assert sum(1 for _ in container.decode(video=0)) > 0


def replies_within(listener: socket.socket, seconds: float) -> list[str]:
    addresses = []
    deadline = time.monotonic() + seconds
    listener.settimeout(0.2)
    while time.monotonic() < deadline:
        try:
            addresses.append(OscMessage(listener.recvfrom(65536)[0]).address)
        except TimeoutError:
            continue
    return addresses


def test_one_datagram_draws_a_few_replies_and_subscriptions_are_capped_to_the_sender(
    processes, models_dir, tmp_path
):
    _, _, peer = start_daemon(processes, models_dir, tmp_path, "synthetic",
                              config="osc:\n  max_subscribers: 4\n")  # fmt: skip
    port = peer.port
    attacker = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    attacker.bind(("127.0.0.1", 0))
    try:
        bad = OscMessageBuilder("/ltsd/mix")
        bad.add_arg("junk")
        status = OscMessageBuilder("/ltsd/status").build().dgram
        attacker.sendto(bundle_of([bad.build().dgram] * 1500 + [status] * 500), ("127.0.0.1", port))
        replies = replies_within(attacker, 2.0)
        assert 0 < replies.count("/ltsd/error") <= 4, replies.count("/ltsd/error")
        assert replies.count("/ltsd/status/end") == 1
        assert len(replies) < 60, len(replies)

        def subscribe(*arguments) -> str:
            message = OscMessageBuilder("/ltsd/subscribe")
            for argument in arguments:
                message.add_arg(argument)
            attacker.sendto(message.build().dgram, ("127.0.0.1", port))
            time.sleep(0.3)  # past the per-batch budget, within the per-second one
            answered = replies_within(attacker, 0.3)
            return "refused" if "/ltsd/error" in answered else "accepted"

        assert subscribe(7000, "10.0.0.1") == "refused", "another host: reflection"
        assert subscribe(7000, "224.0.0.1") == "refused", "multicast"
        assert subscribe(7000, "example.org") == "refused", "names are not resolved"
        assert [subscribe(7000 + n, "localhost") for n in range(4)] == ["accepted"] * 4
        assert subscribe(7000, "127.0.0.1") == "accepted", "localhost is 127.0.0.1: no new one"
        assert subscribe(7100) == "refused", "over osc.max_subscribers"
    finally:
        attacker.close()
        peer.close()


def test_osc_opens_files_only_from_media_folders_and_cannot_probe_paths(
    processes, models_dir, tmp_path
):
    media, private = tmp_path / "media", tmp_path / "private"
    (media / "stills").mkdir(parents=True)
    private.mkdir()
    Image.new("RGB", (96, 64), (200, 30, 30)).save(media / "stills" / "a.png")
    Image.new("RGB", (80, 48), (30, 30, 200)).save(private / "secret.png")
    (media / "link").symlink_to(private)
    _, _, peer = start_daemon(processes, models_dir, tmp_path, "synthetic",
                              config=f"source:\n  media_dirs: [{str(media)!r}]\n")  # fmt: skip

    def refusal(spec: str) -> str:
        peer.send("/ltsd/source", spec)
        errors = [values for address, values in peer.messages(until="/ltsd/error", timeout_s=3)
                  if address == "/ltsd/error"]  # fmt: skip
        assert errors, f"{spec} was not refused"
        return errors[-1][1].replace(spec, "SPEC")

    try:
        started = time.monotonic()
        texts = {refusal(spec) for spec in (
            f"images:{private}", f"images:{tmp_path / 'no-such-folder'}", "images:/",
            f"file:{private / 'secret.png'}", f"file:{private / 'missing.mp4'}",
            f"images:{media / 'link'}", "images:../private", "file:/etc/passwd",
        )}  # fmt: skip
        assert time.monotonic() - started < 10, "refusing must not walk the file system"
        assert len(texts) == 1, texts  # one text: existence cannot be told apart
        assert peer.status()["/ltsd/status/source"] == "synthetic"
        peer.send("/ltsd/source", "images:stills")  # relative: looked up in the media folders
        assert peer.status()["/ltsd/status/source"] == f"images:{media / 'stills'}"
    finally:
        peer.close()


def test_a_flood_of_refused_messages_cannot_flood_the_log(processes, models_dir, tmp_path):
    process, _, peer = start_daemon(processes, models_dir, tmp_path, "synthetic")
    sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        messages = []
        for address, value in (("/ltsd/model/index", float("inf")), ("/ltsd/nope", 1),
                               ("/ltsd/mix", "junk"), ("/ltsd/model", "missing")):  # fmt: skip
            message = OscMessageBuilder(address)
            message.add_arg(value)
            messages.append(message.build().dgram)
        for _ in range(40):
            sender.sendto(bundle_of(messages * 100), ("127.0.0.1", peer.port))
        time.sleep(2.0)
        assert peer.status()["/ltsd/status/model"] == "magenta"
    finally:
        sender.close()
        peer.close()
    log = stop(process)
    lines = log.splitlines()
    assert len(lines) < 400, f"{len(lines)} log lines for 40 datagrams"
    assert "Traceback" not in log and "internal error" not in log


def test_bad_recording_names_and_places_are_one_line_at_start_up(models_dir, tmp_path):
    for name in ("out_%d%d.png", "noextension", "out.webm", "out.gif", "out.wav", "/proc/rec.mp4"):
        target = name if name.startswith("/") else str(tmp_path / name)
        result = run_ltsd("run", "--source", "synthetic", "--sink", f"file:{target}",
                          "--models-dir", str(models_dir), "--model", "magenta", "--frames", "5",
                          timeout_s=60)  # fmt: skip
        assert result.returncode != 0, name
        assert "Traceback" not in result.stderr and target in result.stderr, result.stderr
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_a_full_disk_stops_the_recording_not_the_show(models_dir, tmp_path):
    """RLIMIT_FSIZE makes writes past a few kB fail as on a full disk (Python ignores SIGXFSZ)."""
    import resource
    import sys

    from tests.conftest import REPO

    def small_files() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (60_000, 60_000))  # a few 2-s fragments

    recording, output, port = tmp_path / "rec.mp4", unique_name("disk"), free_udp_port()
    config = tmp_path / "config.yaml"
    config.write_text("synthetic:\n  width: 320\n  height: 180\nparams:\n  bypass: true\n")
    process = subprocess.Popen(
        [sys.executable, "-m", "ltsd.cli", "run", "--config", str(config), "--ndi-name", output,
         "--sink", "ndi", "--sink", f"file:{recording}", "--models-dir", str(models_dir),
         "--model", "magenta", "--osc-port", str(port), "--oscquery-port", "0"],
        cwd=REPO, stderr=subprocess.PIPE, text=True, preexec_fn=small_files,
    )  # fmt: skip
    receiver = NdiReceiver(output)
    try:
        assert wait_for(lambda: recording.exists() and recording.stat().st_size == 60_000, 60)
        time.sleep(1.0)  # the write that filled it has failed; the next frame notices
        after = receiver.frames(count=30, timeout_s=20, keep_pixels=False)
        assert len(after) == 30, "NDI output must go on after the recording stopped"
    finally:
        receiver.close()
    log = stop(process)
    assert process.returncode == 0, log
    assert f"file:{recording} stopped" in log and "Traceback" not in log, log
    assert playable_frames(recording) >= 60  # every fragment written before the disk filled


def playable_frames(path: Path) -> int:
    """Frames a player shows from `path`, up to the first damaged packet (a cut-off end)."""
    import av

    frames = 0
    with av.open(str(path)) as container:
        try:
            for _ in container.decode(video=0):
                frames += 1
        except av.FFmpegError:
            pass
    return frames


def test_a_recording_survives_the_daemon_being_killed(processes, models_dir, tmp_path):
    recording = tmp_path / "rec.mp4"
    process, _, peer = start_daemon(
        processes, models_dir, tmp_path, "synthetic", "--sink", "null", "--sink",
        f"file:{recording}", config="params:\n  bypass: true\n",
    )  # fmt: skip
    peer.close()
    assert wait_for(lambda: recording.stat().st_size > 20_000, timeout_s=60)
    process.kill()
    process.communicate(timeout=20)
    assert playable_frames(recording) >= 60  # the fragments written before the kill


def test_idle_http_connections_cannot_lock_out_oscquery_or_osc(processes, models_dir, tmp_path):
    import json
    import urllib.request

    query_port = free_udp_port()  # free for TCP too (free_port checks both)
    process, _, peer = start_daemon(processes, models_dir, tmp_path, "synthetic",
                                    "--oscquery-port", str(query_port))  # fmt: skip
    idle = []
    try:
        for _ in range(300):  # far more than ltsd serves at once, all silent
            connection = socket.create_connection(("127.0.0.1", query_port), timeout=5)
            idle.append(connection)
        descriptors = len(list(Path(f"/proc/{process.pid}/fd").iterdir()))
        assert descriptors < 200, f"{descriptors} open descriptors: connections are not capped"
        assert peer.status()["/ltsd/status/model"] == "magenta"

        def host_info() -> bool:  # refused while the idle ones hold every slot, then answered
            try:
                url = f"http://127.0.0.1:{query_port}/?HOST_INFO"
                with urllib.request.urlopen(url, timeout=2) as reply:
                    return json.load(reply)["OSC_PORT"] == peer.port
            except OSError:
                return False

        assert wait_for(host_info, timeout_s=20), "idle connections must time out"
        idle[0].settimeout(10)
        assert idle[0].recv(1) == b"", "an idle connection is closed by ltsd"
    finally:
        for connection in idle:
            connection.close()
        peer.close()
    assert "Traceback" not in stop(process)


def test_render_mistakes_are_one_line_and_never_overwrite_the_input(models_dir, tmp_path):
    clip = write_clip(tmp_path / "in.mp4", frames=5)
    original = clip.read_bytes()
    for output in ("in.mp4", "out.webm", "out.gif", "/proc/out.mp4"):
        target = output if output.startswith("/") else str(tmp_path / output)
        result = run_ltsd("render", str(clip), target, "--models-dir", str(models_dir),
                          "--model", "magenta", "--quiet", timeout_s=60)  # fmt: skip
        assert result.returncode == 2, (output, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1 and "Traceback" not in result.stderr
    assert clip.read_bytes() == original


def test_train_refuses_impossible_numbers_and_names_outside_the_models_folder(tmp_path, capsys):
    """The first case as a user runs it (its exit status and stderr); the rest through the
    same entry point in this process, which checks them before anything loads."""
    from ltsd.cli import main

    images = tmp_path / "images"
    images.mkdir()
    Image.new("RGB", (300, 300), (40, 90, 160)).save(images / "a.png")
    models = ["--models-dir", str(tmp_path / "models")]
    result = run_ltsd("train", str(images), "--name", "t", "--minutes", "nan", *models)
    assert result.returncode == 2, result.stderr
    assert result.stderr.strip() == "ltsd: error: --minutes: expected a positive number, got nan"
    for flags in (["--minutes", "-1"], ["--resolution", "0"],
                  ["--ngf", "0"], ["--max-filters", "-1"], ["--ndf", "0"],
                  ["--learning-rate", "0"], ["--learning-rate", "inf"],
                  ["--brightness-jitter", "1"], ["--contrast-jitter", "-0.1"], ["--darken", "1"],
                  ["--name", "../../escaped"]):  # fmt: skip
        name = [] if "--name" in flags else ["--name", "t"]
        assert main(["train", str(images), *name, *flags, *models]) == 2, flags
        stderr = capsys.readouterr().err
        assert len(stderr.strip().splitlines()) == 1 and flags[0] in stderr, (flags, stderr)
    assert (
        not (tmp_path / "models").exists()
        and not (tmp_path.parent / "escaped.safetensors").exists()
    )


def test_systemd_hears_ready_and_watchdog_pings_which_stop_when_the_frame_thread_hangs(
    models_dir, tmp_path
):
    """A real NOTIFY_SOCKET. The frame thread is made to hang the way a stuck share would: after
    90 frames the sink's write blocks for ever (tests/helpers/stuck_sink)."""
    import os
    import sys

    from tests.conftest import REPO

    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify"))
    notify.settimeout(0.2)
    config = tmp_path / "config.yaml"
    config.write_text("synthetic:\n  width: 1280\n  height: 720\nparams:\n  bypass: true\n")
    stuck = str(Path(__file__).parent / "helpers" / "stuck_sink")
    env = dict(os.environ, NOTIFY_SOCKET=str(tmp_path / "notify"), WATCHDOG_USEC="1000000",
               OMP_NUM_THREADS="1", LTSD_TEST_STUCK_AFTER="90",
               PYTHONPATH=os.pathsep.join([stuck, str(REPO)]))  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, "-m", "ltsd.cli", "run", "--config", str(config), "--sink", "null",
         "--models-dir", str(models_dir), "--model", "magenta",
         "--osc-port", str(free_udp_port()), "--oscquery-port", "0"],
        cwd=REPO, env=env, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    heard: list[tuple[float, str]] = []
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            with contextlib.suppress(TimeoutError):
                heard.append((time.monotonic(), notify.recv(4096).decode()))
            pings = [at for at, message in heard if message == "WATCHDOG=1"]
            if len(pings) >= 3 and time.monotonic() - pings[-1] > 4.0:
                break  # silent for four periods: the hang was noticed
    finally:
        process.kill()
        process.communicate(timeout=20)
        notify.close()
    messages = [message for _, message in heard]
    assert any(message.startswith("READY=1") for message in messages), messages[:5]
    pings = [at for at, message in heard if message == "WATCHDOG=1"]
    assert len(pings) >= 3, messages[:10]
    assert time.monotonic() - pings[-1] > 4.0, "pings must stop while the frame thread hangs"


def test_a_second_instance_on_taken_ports_names_the_flag_to_change(processes, models_dir, tmp_path):
    import sys

    _, _, peer = start_daemon(processes, models_dir, tmp_path, "synthetic")
    peer.close()
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        query_port = taken.getsockname()[1]
        for flags, needle in (
            (["--osc-port", str(peer.port), "--oscquery-port", "0"], "--osc-port"),
            (["--osc-port", str(free_udp_port()), "--oscquery-port", str(query_port)],
             "--oscquery-port"),
        ):  # fmt: skip
            result = subprocess.run(
                [sys.executable, "-m", "ltsd.cli", "run", "--models-dir", str(models_dir),
                 "--model", "magenta", "--ndi-name", unique_name("second"), "--frames", "3",
                 *flags],
                capture_output=True, text=True, timeout=60,
            )  # fmt: skip
            assert result.returncode == 2, result.stderr
            last = result.stderr.strip().splitlines()[-1]
            assert last.startswith("ltsd: error") and needle in last, result.stderr
            assert "Traceback" not in result.stderr


def test_a_camera_that_is_not_there_is_one_line_naming_it(models_dir, tmp_path):
    from ltsd.sources.camera import camera_input

    result = run_ltsd("run", "--source", "camera:/dev/video99", "--models-dir", str(models_dir),
                      "--model", "magenta", "--frames", "3", timeout_s=60)  # fmt: skip
    assert result.returncode == 2 and "Traceback" not in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert "camera:/dev/video99" in last and "cannot open" in last, result.stderr
    assert camera_input("0", "linux") == ("/dev/video0", "v4l2")
    assert camera_input("0", "darwin") == ("0:none", "avfoundation")
    assert camera_input("Logitech BRIO", "win32") == ("video=Logitech BRIO", "dshow")


def test_a_slideshow_reports_its_real_input_rate_and_a_huge_still_does_not_lose_the_source(
    processes, models_dir, tmp_path
):
    import re

    stills = tmp_path / "stills"
    stills.mkdir()
    for index in range(3):
        Image.new("RGB", (320, 180), (index * 80, 60, 60)).save(stills / f"{index}.png")
    Image.new("RGB", (7000, 5000), (20, 120, 20)).save(stills / "9-huge.png")
    process, _, peer = start_daemon(
        processes, models_dir, tmp_path, f"images:{stills}",
        config="source:\n  slide_s: 0.3\nlog:\n  status_interval_s: 0.5\n",
    )  # fmt: skip
    peer.close()
    time.sleep(8.0)  # two rounds of the slideshow, the huge still included
    log = stop(process)
    rates = [float(rate) for rate in re.findall(r"in +([0-9.]+) fps", log)]
    assert len(rates) >= 5, log
    assert max(rates) < 60, rates  # 30 fps slides (synthetic.fps), never a burst
    assert "source lost" not in log, log


def test_a_slow_model_load_does_not_hold_up_the_knobs(processes, models_dir, tmp_path):
    """With no preloading (budget 0), switching to a bigger world loads it from disk; a knob
    turned just after the switch is applied and echoed before the load is done."""
    from ltsd.generator import GeneratorSpec, UNetGenerator
    from ltsd.modelstore import ModelInfo, model_path, save_model

    spec = GeneratorSpec(1, 3, ngf=32, max_channels=256, depth=8)
    save_model(model_path(models_dir, "big"), UNetGenerator(spec).eval(),
               ModelInfo("big", spec, 256))  # fmt: skip
    _, _, peer = start_daemon(processes, models_dir, tmp_path, "synthetic",
                              config="model:\n  memory_budget_mb: 0\n")  # fmt: skip
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    try:
        subscribe = OscMessageBuilder("/ltsd/subscribe")
        subscribe.add_arg(listener.getsockname()[1])
        peer.client.send(subscribe.build())
        peer.status()  # the subscription is in place
        replies_within(listener, 0.5)  # the status went to the sender's host's subscribers too
        peer.send("/ltsd/model", "big")
        peer.send("/ltsd/mix", 0.25)
        heard = [address for address in replies_within(listener, 6.0)
                 if address in ("/ltsd/model", "/ltsd/mix")]  # fmt: skip
        assert heard[:2] == ["/ltsd/mix", "/ltsd/model"], heard
        assert peer.status()["/ltsd/status/model"] == "big"
    finally:
        listener.close()
        peer.close()


def test_idle_floods_from_one_host_or_another_leave_oscquery_answering(
    processes, models_dir, tmp_path
):
    """An idle connection is evicted for a newcomer rather than the newcomer refused. How long
    the answer takes is load, not behaviour: it is not timed here (a 2-core CI took 1.03 s once)."""
    import json
    import urllib.request

    query_port = free_udp_port()
    process, _, peer = start_daemon(processes, models_dir, tmp_path, "synthetic",
                                    "--oscquery-port", str(query_port))  # fmt: skip
    idle = []
    try:
        for source in ("127.0.0.1", "127.0.0.2"):  # the same host as the client, and another
            for _ in range(200):
                connection = socket.socket()
                connection.bind((source, 0))
                connection.settimeout(5)
                connection.connect(("127.0.0.1", query_port))
                idle.append(connection)
            url = f"http://127.0.0.1:{query_port}/?HOST_INFO"
            with urllib.request.urlopen(url, timeout=10) as reply:  # refused or reset: fails
                assert json.load(reply)["OSC_PORT"] == peer.port, f"after 200 idle from {source}"
    finally:
        for connection in idle:
            connection.close()
        peer.close()
    assert "Traceback" not in stop(process)
