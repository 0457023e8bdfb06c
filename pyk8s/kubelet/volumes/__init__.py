"""Pod volumes on the node: ``manager.VolumeManager`` prepares host directories and CRI mounts.

``atomicwriter`` (the ``..data`` symlink swap), ``projection`` (configMap,
secret, downwardAPI, projected payloads and ServiceAccount tokens),
``hostpath`` (type checks).
"""
