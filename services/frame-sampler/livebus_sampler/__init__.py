"""frame-sampler: turns client video into small, adaptive-rate JPEG frames for the model."""
