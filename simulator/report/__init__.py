"""Tables, charts and documents made from run results."""
