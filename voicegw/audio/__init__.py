"""Audio in: decode any supported container to 16 kHz mono PCM, enforce limits, find speech."""
