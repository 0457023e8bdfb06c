"""Authorization: who may do what (``--authorization-mode``: Node, RBAC, AlwaysAllow, AlwaysDeny).

``attributes`` reads a request into upstream's authorization attributes,
``rules`` matches RBAC PolicyRules, ``rbac`` and ``node`` are the two real
authorizers, ``union`` chains them, ``bootstrappolicy``/``controllerpolicy``
hold the default roles and ``reconcile`` puts them in place at start,
``escalation`` keeps users from granting what they do not hold, and
``identities`` issues the control-plane components their own credentials.
"""
