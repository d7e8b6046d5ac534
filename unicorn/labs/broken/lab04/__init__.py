"""Lab 4's broken gateways: framing mistakes that leave a client unsure where a body ends."""
