"""The built-in Ingress controller: Ingress objects routed by an nginx the controller owns.

``model`` turns Ingresses, Services, EndpointSlices and Secrets into routes
(pure), ``nginxconf`` renders them, ``nginx`` runs and reloads the nginx
child process, ``controller`` watches the API and ties them together.
``pyk8s ingress`` (and ``pyk8s server``, unless ``--disable ingress``) run
it; see docs/ingress.md.
"""
