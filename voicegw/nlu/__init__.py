"""Understanding: menus, normalisation, and the parser from transcript to intent and order lines."""
