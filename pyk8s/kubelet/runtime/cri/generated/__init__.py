"""Generated CRI v1 protobuf code (see ../regenerate.py)."""
