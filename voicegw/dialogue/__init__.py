"""Sessions and carts, confirmation, and the replies a customer hears (ko/en)."""
