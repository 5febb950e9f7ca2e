"""A/B tests of reply texts."""
