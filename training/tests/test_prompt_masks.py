"""Prompt masks shrink to the patch grid exactly as the official code does: torchvision Resize(NEAREST) on a
PIL image (Pillow's NEAREST resize), then a patch is covered when any of its pixels is set."""
import numpy as np
import pytest
from PIL import Image

from pixel_sail.preprocess import nearest_resize_mask, pil_nearest_sources, prompt_slots, resized_size


def test_hand_worked_case_shrinking_ten_pixels_to_four_picks_pixel_centres():
    # floor((d + 0.5) · 10 / 4) for d = 0..3 → 1.25, 3.75, 6.25, 8.75 → 1, 3, 6, 8 (the old rule gave 0, 2, 5, 7).
    assert pil_nearest_sources(10, 4).tolist() == [1, 3, 6, 8]
    assert pil_nearest_sources(5, 5).tolist() == [0, 1, 2, 3, 4]
    # Pillow's running sum lands just below the exact 6.0 here, so destination 4 reads source 5.
    assert pil_nearest_sources(8, 6).tolist() == [0, 2, 3, 4, 5, 7]


def test_source_indices_equal_pillows_on_every_size_pair_up_to_120():
    for n_in in range(1, 121):
        row = Image.fromarray(np.arange(n_in, dtype=np.int32).reshape(1, n_in), mode="I")
        for n_out in range(1, 121):
            want = np.asarray(row.resize((n_out, 1), Image.NEAREST))[0]
            assert pil_nearest_sources(n_in, n_out).tolist() == want.tolist(), (n_in, n_out)


def official_mask_patches(mask: np.ndarray, new_w: int, new_h: int, patch: int) -> np.ndarray:
    """The official convert_mask_to_patches, in numpy + Pillow: 3-channel uint8 image, NEAREST resize, any pixel."""
    img = Image.fromarray(np.stack([mask] * 3, axis=2).astype(np.uint8))
    small = np.asarray(img.resize((new_w, new_h), Image.NEAREST))[..., 0]
    gh, gw = new_h // patch, new_w // patch
    return small.reshape(gh, patch, gw, patch).sum(axis=(1, 3)).reshape(-1) > 0


@pytest.mark.parametrize("size", [(333, 201), (97, 413), (1000, 37), (45, 70), (1601, 899)])
def test_random_masks_at_odd_sizes_cover_the_patches_the_official_code_finds(size):
    w, h = size
    rng = np.random.RandomState(w * 7 + h)
    new_w, new_h = resized_size(w, h, 16, 1024)
    for trial in range(6):
        mask = np.zeros((h, w), dtype=np.uint8)
        for _ in range(rng.randint(1, 4)):  # a few rectangles and a scatter of single pixels
            x0, y0 = rng.randint(0, w), rng.randint(0, h)
            mask[y0:y0 + rng.randint(1, h // 2 + 2), x0:x0 + rng.randint(1, w // 2 + 2)] = 1
        mask[rng.randint(0, h, 20), rng.randint(0, w, 20)] = 1
        small = nearest_resize_mask(mask.astype(bool), new_w, new_h)
        want_small = np.asarray(Image.fromarray(mask * 255).resize((new_w, new_h), Image.NEAREST)) > 0
        assert np.array_equal(small, want_small)
        got = prompt_slots([mask.astype(bool)], [4], new_w, new_h, 16) == 4
        assert np.array_equal(got, official_mask_patches(mask, new_w, new_h, 16)), (size, trial)


def test_overlap_order_largest_first_or_as_given():
    big = np.zeros((32, 32), bool)
    big[:, :] = True
    small = np.zeros((32, 32), bool)
    small[:16, :16] = True
    # Given [small, big]: largest-first writes big then small (small wins its patch); given order lets big win.
    assert prompt_slots([small, big], [1, 2], 32, 32, 16).tolist() == [1, 2, 2, 2]
    assert prompt_slots([small, big], [1, 2], 32, 32, 16, overlap="given_order").tolist() == [2, 2, 2, 2]
    assert prompt_slots([big, small], [2, 1], 32, 32, 16, overlap="given_order").tolist() == [1, 2, 2, 2]
    with pytest.raises(ValueError, match="overlap"):
        prompt_slots([small], [1], 32, 32, 16, overlap="smallest_last")


@pytest.mark.parametrize("n_in,n_out", [(4000, 1024), (3024, 768), (1920, 1024), (6000, 1000), (4032, 192), (1023, 1024), (999, 1008)])
def test_source_indices_equal_pillows_on_photo_sizes(n_in, n_out):
    row = Image.fromarray(np.arange(n_in, dtype=np.int32).reshape(1, n_in), mode="I")
    want = np.asarray(row.resize((n_out, 1), Image.NEAREST))[0]
    assert pil_nearest_sources(n_in, n_out).tolist() == want.tolist()


def test_the_reference_reads_the_overlap_order_from_config_jsons_image_section(tmp_path):
    import json

    from conftest import REPO
    from pixel_sail.config import PixelSailConfig

    doc = json.load(open(f"{REPO}/models/tiny-random/config.json"))
    assert PixelSailConfig.from_json(f"{REPO}/models/tiny-random/config.json").prompt_overlap == doc["image"]["prompt_overlap"]
    doc["image"]["prompt_overlap"] = "given_order"
    (tmp_path / "config.json").write_text(json.dumps(doc))
    assert PixelSailConfig.from_json(str(tmp_path / "config.json")).prompt_overlap == "given_order"
    doc["image"]["prompt_overlap"] = "smallest_last"
    (tmp_path / "config.json").write_text(json.dumps(doc))
    with pytest.raises(ValueError, match="prompt_overlap"):
        PixelSailConfig.from_json(str(tmp_path / "config.json"))
