"""etcd v3's gRPC API: the protobuf definitions pyk8s uses and their generated code.

``kv.proto`` and ``rpc.proto`` hold etcd 3.4's KV and Watch services and
their messages with etcd's field numbers; ``generated/`` is produced from them
by ``regenerate.py`` (committed, excluded from ruff).
"""
