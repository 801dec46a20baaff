import math

import torch

from pixel_sail.losses import DistillationHead, dice_loss, lm_loss, mask_loss


def test_dense_mask_loss_matches_a_hand_computed_case():
    # One 1×2 mask: logits (0, ln 3) → probabilities (0.5, 0.75); ground truth (0, 1).
    pred = torch.tensor([[[0.0, math.log(3.0)]]])
    gt = torch.tensor([[[0.0, 1.0]]])
    out = mask_loss(pred, gt, num_points=None)
    bce = (-math.log(0.5) - math.log(0.75)) / 2
    dice = 1 - (2 * 0.75 + 1) / ((0.5 + 0.75) + 1 + 1)
    assert math.isclose(out["loss_mask"].item(), 2.0 * bce, rel_tol=1e-6)
    assert math.isclose(out["loss_dice"].item(), 0.5 * dice, rel_tol=1e-6)


def test_losses_average_over_masks():
    pred = torch.zeros(2, 4, 4)
    gt = torch.zeros(2, 4, 4)
    gt[1] = 1
    one = mask_loss(pred[1:], gt[1:], num_points=None)
    both = mask_loss(pred, gt, num_points=None)
    zero = mask_loss(pred[:1], gt[:1], num_points=None)
    assert math.isclose(both["loss_dice"].item(), (one["loss_dice"].item() + zero["loss_dice"].item()) / 2, rel_tol=1e-6)


def test_uncertainty_sampling_concentrates_points_on_the_mask_boundary():
    from pixel_sail.losses import uncertain_point_coords

    x = torch.linspace(-1, 1, 32)
    logits = (20 * x).view(1, 1, 1, 32).expand(1, 1, 32, 32).contiguous()  # boundary at x = 0.5
    coords = uncertain_point_coords(logits, 400, generator=torch.Generator().manual_seed(0))
    important, uniform = coords[0, :300, 0], coords[0, 300:, 0]
    assert coords.shape == (1, 400, 2)
    assert (important - 0.5).abs().mean() < 0.1 < (uniform - 0.5).abs().mean()


def test_point_sampled_loss_is_low_for_a_confident_correct_prediction_and_high_for_a_wrong_one():
    gt = torch.zeros(1, 32, 32)
    gt[:, 8:24, 8:24] = 1
    good = (gt * 40 - 20)
    gen = torch.Generator().manual_seed(0)
    right = mask_loss(good, gt, num_points=256, generator=gen)
    wrong = mask_loss(-good, gt, num_points=256, generator=gen)
    assert right["loss_dice"] < 0.1 * wrong["loss_dice"] and right["loss_mask"] < 0.1 * wrong["loss_mask"]


def test_dice_is_zero_for_a_confident_perfect_prediction():
    logits = torch.tensor([[50.0, -50.0, 50.0]])
    assert dice_loss(logits, torch.tensor([[1.0, 0.0, 1.0]])).item() < 1e-6


def test_lm_loss_is_scaled_by_a_tenth_for_samples_with_masks():
    logits = torch.zeros(2, 3, 4)  # uniform → CE = ln 4 per token
    labels = torch.tensor([[-100, 1, 2], [-100, 3, -100]])
    loss = lm_loss(logits, labels, torch.tensor([True, False]))
    assert math.isclose(loss.item(), (0.1 * math.log(4) + math.log(4)) / 2, rel_tol=1e-6)


def test_distillation_head_is_weighted_mse_on_the_student_grid():
    head = DistillationHead(3, 2)
    with torch.no_grad():
        head.adapter.weight.zero_()
        head.adapter.bias.zero_()
    teacher = torch.ones(1, 2, 8, 8)
    loss = head(torch.randn(1, 4, 4, 3), teacher)
    assert math.isclose(loss.item(), 0.5, rel_tol=1e-6)


def test_attribute_head_is_weighted_soft_cross_entropy_per_patch():
    from pixel_sail.losses import AttributeHead

    torch.manual_seed(0)
    head = AttributeHead(4, {"shape": 3, "pattern": 2}, weight=0.5)
    features = torch.randn(2, 5, 4)
    targets = {"shape": torch.softmax(torch.randn(2, 5, 3), -1), "pattern": torch.softmax(torch.randn(2, 5, 2), -1)}
    x = head.norm(features)
    expected = sum(-(targets[k] * torch.log_softmax(head.heads[k](x), -1)).sum(-1).mean() for k in ("shape", "pattern"))
    assert torch.allclose(head(features, targets), 0.5 * expected)
    # A head that already predicts the targets exactly is left with the targets' own entropy, nothing more.
    one_hot = {"shape": torch.eye(3)[torch.tensor([[0, 1, 2, 0, 1], [2, 2, 1, 0, 0]])],
               "pattern": torch.eye(2)[torch.zeros(2, 5, dtype=torch.long)]}
    with torch.no_grad():
        for k, n in (("shape", 3), ("pattern", 2)):
            head.heads[k].weight.zero_()
            head.heads[k].bias.zero_()
    assert math.isclose(float(head(features, one_hot)), 0.5 * (math.log(3) + math.log(2)), rel_tol=1e-5)
