"""REST endpoints, one module per resource; app.py includes them."""
