"""Admission webhooks: the MutatingAdmissionWebhook and ValidatingAdmissionWebhook plugins.

``configs.py`` reads the webhook configurations from the watch cache; ``matching.py`` decides whether a
webhook is called for a request (rules, namespaceSelector, objectSelector; ``conditions.py`` the CEL
matchConditions); ``review.py`` builds the AdmissionReview v1 request and reads the response;
``client.py`` reaches the webhook (a URL, or a Service resolved through the caches to an EndpointSlice
endpoint or the clusterIP) over HTTPS verified with the caBundle; ``dispatcher.py`` holds the two
plugins (mutating webhooks one after another with reinvocation, validating ones in parallel), which
``pyk8s/apiserver/admission/{mutating,validating}webhook.py`` put in the chain's slots.
"""
