"""Stores for core/v1 kinds whose behaviour no strategy hook covers."""
