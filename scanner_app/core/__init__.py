"""Recognition core: plain Python, numpy and OpenCV. Never imports Qt or TensorFlow."""
