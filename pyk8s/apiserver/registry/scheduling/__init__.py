"""Stores for scheduling.k8s.io kinds whose behaviour no strategy hook covers."""
