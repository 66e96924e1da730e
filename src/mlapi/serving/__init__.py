"""Between HTTP and ml: the active model, its atomic swap, and training it."""
