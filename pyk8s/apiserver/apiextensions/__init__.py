"""apiextensions.k8s.io: CustomResourceDefinitions, served by the API server itself.

* ``types``: the CRD kind (registered in the process scheme on import), its defaults and strategy;
* ``crdvalidation``: validation of a CRD, with upstream's messages;
* ``crdstore``: the CRD store (deletion through the cleanup finalizer);
* ``controller``: names, Established, serving and cleanup, a loop inside the API server;
* ``serving``: a CRD's versions into the scheme, the schema registry, the printers and the registry;
* ``customresource``: one version's strategy, store (the generic one) and scale subresource;
* ``structural``: schema validation, defaulting and pruning of custom objects;
* ``cel``: ``x-kubernetes-validations`` rules (cel-python);
* ``dsl``: a version's schema mirrored into the schema language for OpenAPI, explain and apply.
"""
