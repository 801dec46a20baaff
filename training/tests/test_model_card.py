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
    assert "weak: every prompt kind scores below the box itself" in text and "close:" not in text
