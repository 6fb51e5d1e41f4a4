"""Reviewed candidates -> YOLO datasets; import; train/evaluate/export models (training needs the [train] extra)."""
