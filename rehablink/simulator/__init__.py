"""A physically modelled simulator of pelvis-worn IMU recordings of the exercises, with ground truth."""
