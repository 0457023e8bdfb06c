"""Generated etcd v3 protobuf code (see ../regenerate.py)."""
