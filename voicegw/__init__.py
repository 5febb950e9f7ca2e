"""voicegw: a voice-ordering gateway in front of a Kakao i Open Builder skill backend."""

__version__ = "0.1.0"
