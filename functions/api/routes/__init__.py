"""The API's routes: the route table (`table.py`) and one module per feature, each with its Router."""
