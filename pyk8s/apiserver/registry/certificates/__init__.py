"""Stores of certificates.k8s.io."""
