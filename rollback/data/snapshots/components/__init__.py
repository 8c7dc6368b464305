"""Components of the local snapshot store: one small module per kind of data."""
