"""Codecs for encapsulated pixel data."""
