"""Each of ltsd.train.realism's scores tells apart two cases it must tell apart."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ltsd.train import realism


def photograph(name: str) -> torch.Tensor:
    """A scikit-image photograph as (1, 3, H, W) in [0, 1]."""
    import skimage.data

    pixels = torch.from_numpy(getattr(skimage.data, name)()).float() / 255
    if pixels.ndim == 2:
        pixels = pixels[..., None].expand(-1, -1, 3)
    return pixels[..., :3].permute(2, 0, 1)[None].contiguous()


def crops(image: torch.Tensor, count: int, size: int = 128, seed: int = 0) -> torch.Tensor:
    generator = torch.Generator().manual_seed(seed)
    height, width = image.shape[-2:]
    out = []
    for _ in range(count):
        top = int(torch.randint(height - size + 1, (), generator=generator))
        left = int(torch.randint(width - size + 1, (), generator=generator))
        out.append(image[..., top : top + size, left : left + size])
    return torch.cat(out)


def test_speckle_is_higher_with_per_pixel_colour_noise():
    clean = crops(photograph("coffee"), 8)
    noise = torch.randn(clean.shape[0], 1, *clean.shape[-2:]) * 0.08
    speckled = (clean + torch.cat([noise, -noise, noise], dim=1)).clamp(0, 1)  # luma kept ~
    assert realism.speckle(speckled) > 4 * realism.speckle(clean)


def test_fine_detail_falls_on_a_smoothed_photograph_and_ignores_colour():
    sharp = crops(photograph("chelsea"), 8)  # fur and whiskers
    smooth = F.interpolate(F.avg_pool2d(sharp, 2), scale_factor=2, mode="bilinear")
    assert realism.fine_detail(smooth) < 0.5 * realism.fine_detail(sharp)
    noise = torch.randn(sharp.shape[0], 1, *sharp.shape[-2:]) * 0.05
    coloured = (sharp + torch.cat([noise, -noise, noise], dim=1)).clamp(0, 1)  # luma kept ~
    assert realism.fine_detail(coloured) == pytest.approx(realism.fine_detail(sharp), rel=0.15)


def test_stroke_direction_tells_horizontal_waves_from_vertical_streaks():
    rows = torch.arange(128.0)
    waves = (0.5 + 0.4 * torch.sin(rows * 2.1))[None, None, :, None].expand(4, 3, 128, 128)
    streaks = waves.transpose(-1, -2)
    texture = torch.rand(4, 3, 128, 128) * 0.05
    assert realism.stroke_direction(waves + texture) < -1
    assert realism.stroke_direction(streaks + texture) > 1
    picture = crops(photograph("astronaut"), 4)
    transposed = picture.transpose(-1, -2)
    assert realism.stroke_direction(picture) == pytest.approx(
        -realism.stroke_direction(transposed), abs=1e-6
    )


def test_patch_realism_puts_more_of_the_world_near_0_and_other_pictures_near_1():
    world = crops(photograph("coffee"), 48, seed=1)
    inputs = crops(photograph("camera"), 24, seed=2)
    more_of_the_world = crops(photograph("coffee"), 24, seed=3)
    smooth = F.avg_pool2d(more_of_the_world, 9, stride=1, padding=4)  # the world, blurred
    near = realism.realism(more_of_the_world, inputs, world)
    blurred = realism.realism(smooth, inputs, world).score
    other = realism.realism(inputs.flip(0), inputs, world).score
    assert near.floor > 0
    assert abs(near.score) < 0.3
    assert blurred > 0.4
    assert 0.7 < other < 1.3


def test_realism_has_no_scale_when_the_inputs_are_as_close_to_the_world_as_its_own_photographs():
    """Clouds' 17 skies split by photograph were no closer to each other than cups and people
    were to them: the scale's width was noise and the score ±1e13 (session 28)."""
    world = crops(photograph("coffee"), 48, seed=1)
    outputs = crops(photograph("camera"), 24, seed=2)
    like_the_world = crops(photograph("coffee"), 24, seed=3)  # the "inputs" are the world too
    scoreless = realism.realism(outputs, like_the_world, world)
    assert all(value != value for value in (scoreless.score, scoreless.texture)), scoreless
    scored = realism.realism(outputs, crops(photograph("astronaut"), 24, seed=2), world)
    assert scored.score > 0.5, "other pictures as the inputs: a scale, and the camera far on it"


def collapse(levels: list[torch.Tensor]) -> torch.Tensor:
    """The image whose Laplacian pyramid `levels` is (finest first, low-pass rest last)."""
    image = levels[-1]
    for band in reversed(levels[:-1]):
        image = F.interpolate(image, size=band.shape[-2:], mode="bilinear", align_corners=False)
        image = image + band
    return image


def test_texture_realism_judges_the_bands_and_leaves_the_layout_to_the_camera():
    world = crops(photograph("coffee"), 48, seed=1)
    inputs = crops(photograph("camera"), 24, seed=2)
    *world_bands, world_layout = realism.laplacian_pyramid(crops(photograph("coffee"), 24, seed=3))
    *camera_bands, camera_layout = realism.laplacian_pyramid(inputs.flip(0))
    assert torch.allclose(collapse(realism.laplacian_pyramid(inputs)), inputs, atol=1e-5)
    # the world's texture over the camera's layout: what a Learning to See world should make
    textured = realism.realism(collapse([*world_bands, camera_layout]), inputs, world)
    # the camera's texture over the world's layout: the opposite
    untextured = realism.realism(collapse([*camera_bands, world_layout]), inputs, world)
    assert textured.texture < 0.3 < 0.7 < untextured.texture
    assert textured.layout > 0.7 > 0.3 > untextured.layout
    # with the camera's layout, even perfect bands cannot take the whole score to 0: the whole
    # score ranks the camera's texture over the world's layout above the world's texture over
    # the camera's layout, which is why texture realism is reported beside it
    assert textured.best_with_layout > 0.3
    assert untextured.score < textured.score
    assert textured.score == pytest.approx(textured.best_with_layout, abs=0.15)
    assert len(textured.outputs) == len(textured.inputs) == len(textured.photographs) == 4


def test_kid_is_near_zero_for_one_distribution_and_not_for_two():
    generator = torch.Generator().manual_seed(0)
    a = torch.randn(200, 64, generator=generator)
    b = torch.randn(200, 64, generator=generator)
    shifted = torch.randn(200, 64, generator=generator) + 0.5
    assert abs(realism.kid(a, b)) < 0.02
    assert realism.kid(a, shifted) > 0.1


def test_flicker_is_zero_for_a_world_that_moves_with_the_camera_and_high_for_one_that_redraws():
    pan = realism.pan_frames(photograph("astronaut")[..., :160, :200], 128, 12, step=2)
    generator = torch.Generator().manual_seed(0)

    def steady(frame: torch.Tensor) -> torch.Tensor:  # shift-equivariant: a fixed filter
        return F.avg_pool2d(frame, 3, stride=1, padding=1)

    def redraws(frame: torch.Tensor) -> torch.Tensor:  # new texture every frame
        return (steady(frame) + 0.2 * torch.rand(frame.shape, generator=generator)).clamp(0, 1)

    assert realism.flicker(steady, pan, step=2) < 0.05
    assert realism.flicker(redraws, pan, step=2) > 1.0


def test_the_fine_chroma_loss_punishes_per_pixel_colour_and_not_brightness_detail():
    from ltsd.train.chroma import fine_chroma_loss

    clean = crops(photograph("coffee"), 4) * 2 - 1
    noise = torch.randn(4, 1, 128, 128, generator=torch.Generator().manual_seed(0)) * 0.1
    speckled = clean + torch.cat([noise, -noise, noise], dim=1)
    grainy = clean + noise.expand(-1, 3, -1, -1)  # the same noise as brightness only
    assert fine_chroma_loss(clean, clean) == 0
    assert fine_chroma_loss(grainy, clean) < 1e-6  # grey noise has no chroma at all
    assert fine_chroma_loss(speckled, clean) > 0.01


def test_streaks_tell_short_vertical_columns_from_grain_smooth_shading_and_a_photograph():
    generator = torch.Generator().manual_seed(0)
    grain = torch.rand(4, 1, 128, 128, generator=generator).expand(4, 3, 128, 128)
    # columns: a random grey per 2-px-wide, 24-px-tall block, over a little grain
    blocks = torch.rand(4, 1, 128 // 24 + 1, 64, generator=generator)
    columns = blocks.repeat_interleave(24, dim=2)[..., :128, :].repeat_interleave(2, dim=3)
    columned = (0.8 * columns.expand(4, 3, 128, 128) + 0.2 * grain).clamp(0, 1)
    # smooth shading repeats itself both ways: few columns or smears
    shading = F.interpolate(torch.rand(4, 1, 4, 4, generator=generator), size=(128, 128),
                            mode="bicubic", align_corners=False).expand(4, 3, 128, 128)  # fmt: skip
    photo = crops(photograph("coffee"), 8)
    assert realism.streaks(columned)[0] > 0.5
    assert realism.streaks(grain) == (0.0, 0.0)
    assert max(realism.streaks(shading)) < 0.2  # curvature leans a little, here or there
    assert realism.streaks(photo)[0] < 0.1
    assert realism.streaks(photo.transpose(-1, -2)) == realism.streaks(photo)[::-1]
    # turned a quarter, the columns are smears
    columns_share, smears_share = realism.streaks(columned.transpose(-1, -2))
    assert smears_share > 0.5 and columns_share < 0.05
