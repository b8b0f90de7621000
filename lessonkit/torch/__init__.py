"""PyTorch twins of the course's models. Each file has a TensorFlow twin of the same name."""
