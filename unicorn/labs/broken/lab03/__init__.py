"""Lab 3's broken parsers: lenient readings of a request head that let requests be smuggled."""
