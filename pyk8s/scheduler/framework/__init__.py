"""The scheduling framework: extension-point Protocols and the runner that calls plugins."""
