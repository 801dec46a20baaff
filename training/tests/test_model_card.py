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
