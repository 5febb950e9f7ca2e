"""Recognition: offline model provisioning and the faster-whisper engine."""
