"""The FAQ and order backend: Kakao i Open Builder skill protocol, reference skill server, storage."""
