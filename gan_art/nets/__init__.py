"""Pretrained feature networks used to score generated images (no training code here)."""
