"""TensorFlow/Keras 3 twins of the course's models; each file has a PyTorch twin of that name."""
