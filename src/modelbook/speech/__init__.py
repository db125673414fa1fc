"""Speech building blocks. tts.py: classical text-to-speech with espeak-ng (Debian package), no model weights."""
