"""Admission: kube-apiserver's ordered plugin chain (``chain.py``), one module per plugin.

``interface.py`` holds the request ``Attributes`` and the ``Plugin`` base; ``chain.py`` the
order, the enable/disable flags and the two phases.  The generic store calls the chain
(``registry.admit`` / ``registry.validate``) on creates and main-resource updates.
"""
