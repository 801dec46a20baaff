"""Pixel-SAIL reference implementation (PyTorch): model, tokenizer, preprocessing, losses."""
