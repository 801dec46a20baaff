from model_card import ablation_table


def _eval(ciou, photo):
    return {"res": {"cIoU": ciou, "gIoU": 0.5, "noTargetAccuracy": 1.0}, "caption": {"meteor": 0.6},
            "mcq": {"accuracy": 0.3}, "vtres": {"cIoU": 0.1, "gIoU": 0.1}, "overall": 30.0,
            "n": {"images": 50}, "realPhotos": {"meanIoU": photo}}


def _render(ab):
    lines = []
    ablation_table(lines.append, ab)
    return "\n".join(lines)


def test_ablation_table_names_the_variants_it_did_not_run_and_reports_masks():
    text = _render({"baseline": {"steps": 2000, "eval": _eval(0.12, 0.2)},
                    "upsampler": {"steps": 2000, "eval": _eval(0.25, 0.4)}})
    assert "### 2000 steps per variant" in text
    assert "Not run at this budget: + prompt injection, + distillation" in text
    assert "| baseline | 0.120 | 0.500 |" in text and "| + upsampler | 0.250 |" in text
    assert "| 0.400 |" in text
    assert "empty-mask plateau" not in text


def test_ablation_table_says_when_no_variant_produced_masks():
    text = _render({k: {"steps": 300, "eval": _eval(0.0, 0.0)}
                    for k in ("baseline", "upsampler", "prompt_injection", "distillation")})
    assert "empty-mask plateau" in text and "Not run" not in text


def _tallies(inter):
    return [{"image": i, "res": {"intersection": inter, "union": 4, "ious": [inter / 4]}, "noTarget": {"right": 0, "n": 0},
             "vtres": {"intersection": 0, "union": 4, "ious": [0.0]}, "mcq": {"right": i % 2, "n": 1}, "meteor": [0.5]}
            for i in range(30)]


def test_ablation_table_gives_paired_differences_when_reports_have_per_image_tallies():
    a, b = _eval(0.25, 0.2), _eval(0.5, 0.4)
    a["perImage"], b["perImage"] = _tallies(1), _tallies(2)
    text = _render({"baseline": {"steps": 2000, "eval": a}, "upsampler": {"steps": 2000, "eval": b}})
    row = next(line for line in text.splitlines() if line.startswith("| baseline → + upsampler |"))
    assert "**+0.250 [+0.250, +0.250]**" in row  # better on every image: resolved
    assert "+0.00 [+0.00, +0.00]" in row  # MCQ unchanged


def _prompts(box, click, scribble, base):
    fig = lambda m: {"meanIoU": m, "ci95": [m - 0.1, m + 0.1]}  # noqa: E731
    return {"box": fig(box), "click": fig(click), "scribble": fig(scribble), "boxBaseline": fig(base),
            "n": {"targets": 60, "photos": 40, "scenes": 38}, "method": "bootstrap over scenes", "perTarget": []}


def test_photo_prompt_block_says_the_targets_are_not_human_labels_and_rewrites_in_place(tmp_path):
    from model_card import PHOTO_BEGIN, PHOTO_END, update_photo_block
    card = tmp_path / "MODEL_CARD.md"
    card.write_text("# m\n\n## Real-photo figure\n\ntext\n\n## Known limits (measured)\n\n- x\n", encoding="utf-8")
    update_photo_block(str(card), [("default", {"realPhotoPrompts": _prompts(0.4, 0.3, 0.35, 0.5)}),
                                   ("long run", {"realPhotoPrompts": {"skipped": "no photos"}})])
    text = card.read_text(encoding="utf-8")
    assert text.index("## Real-photo figure") < text.index(PHOTO_BEGIN) < text.index(PHOTO_END) < text.index("## Known limits")
    assert "not from human labels" in text and "salient-object model" in text
    assert "| default | 0.400 [0.300, 0.500] | 0.300 [0.200, 0.400] | 0.350 [0.250, 0.450] | 0.500 [0.400, 0.600] |" in text
    assert "| long run | skipped: no photos |" in text
    update_photo_block(str(card), [("default", {"realPhotoPrompts": _prompts(0.6, 0.3, 0.35, 0.5)})])
    again = card.read_text(encoding="utf-8")
    assert again.count(PHOTO_BEGIN) == 1 and "| default | 0.600" in again and "long run" not in again


def test_photo_prompt_block_says_when_the_box_itself_is_better(tmp_path):
    from model_card import update_photo_block
    card = tmp_path / "MODEL_CARD.md"
    card.write_text("# m\n\n## Known limits (measured)\n", encoding="utf-8")
    update_photo_block(str(card), [("weak", {"realPhotoPrompts": _prompts(0.2, 0.1, 0.15, 0.6)}),
                                   ("close", {"realPhotoPrompts": _prompts(0.45, 0.3, 0.35, 0.5)})])
    text = card.read_text(encoding="utf-8")
    assert "weak: every prompt kind scores below the box itself" in text and "close: every prompt kind's mean is still below" in text
    update_photo_block(str(card), [("better", {"realPhotoPrompts": _prompts(0.55, 0.3, 0.35, 0.5)})])
    text = card.read_text(encoding="utf-8")
    assert "better:" not in text and "still below" not in text


def _point(segment, steps, seg_steps, samples, **recipe):
    return {"segment": segment, "steps": steps, "segment_steps": seg_steps, "samples": samples, "segment_minutes": 30.0,
            "recipe": dict({"lr": 1e-4, "batch": 12, "dense_masks": True, "distill": "pool"}, **recipe)}


def test_long_run_lineage_follows_the_steps_and_skips_an_abandoned_branch():
    import pytest
    from model_card import long_run_lineage
    curve = [_point(0, 100, 0, 1200), _point(1, 150, 50, 1800, distill=None), _point(2, 130, 30, 1560),  # 2 restarts from 0
             _point(3, 160, 30, 1920), _point(4, 200, 40, 2400, photo_prompts=2)]
    assert [p["segment"] for p in long_run_lineage(curve, 4)] == [0, 2, 3, 4]
    assert [p["segment"] for p in long_run_lineage(curve, 1)] == [0, 1]
    with pytest.raises(ValueError, match="segment 9 is not on"):
        long_run_lineage(curve, 9)
    with pytest.raises(ValueError, match="which no earlier point"):
        long_run_lineage(curve + [_point(5, 999, 1, 9999)], 5)


def test_long_run_training_names_each_segment_its_recipe_and_command():
    from model_card import long_run_training
    curve = [_point(0, 100, 0, 1200), _point(1, 150, 50, 1800, distill=None), _point(2, 130, 30, 1560, distill=None),
             _point(3, 170, 40, 2040, photo_prompts=2)]
    weights = {"totals": {"steps": 170, "samples": 2040, "minutes": 99.0, "segments": 3}}
    lines = []
    long_run_training(lines.append, weights, "training/checkpoints/x.pt", curve)
    text = "\n".join(lines)
    assert "segments 2, 3 on top of phase 2 (segment 1 was a branch" in text
    assert "Segment 2, from the phase-2 weights" in text and "30 steps, 360 sequences" in text and "`DISTILL=none sh training/long_run.sh 30`" in text
    assert "Segment 3, from segment 2" in text and "2 real-photo box/click/scribble" in text and "`PHOTO=2 sh training/long_run.sh 30`" in text
    assert "In all: 170 steps, 2040 sequences" in text and "`training/checkpoints/x.pt`" in text
    import pytest
    with pytest.raises(ValueError, match="holds 999 steps"):
        long_run_training(lines.append, {"totals": dict(weights["totals"], steps=999)}, "x.pt", curve)


def test_update_head_replaces_the_generated_head_and_keeps_the_rest(tmp_path):
    from model_card import PHOTO_BEGIN, PHOTO_END, update_head
    card = tmp_path / "MODEL_CARD.md"
    card.write_text(f"# old\n\nold figures\n\n{PHOTO_BEGIN}\nold photos\n{PHOTO_END}\n\n## Known limits (measured)\n\n- kept\n",
                    encoding="utf-8")
    update_head(str(card), ["# new\n", "new figures\n", PHOTO_BEGIN, "new photos", PHOTO_END + "\n"])
    text = card.read_text(encoding="utf-8")
    assert text.startswith("# new\n") and "old" not in text and "new photos" in text
    assert text.count(PHOTO_END) == 1 and text.endswith(f"{PHOTO_END}\n\n## Known limits (measured)\n\n- kept\n")
