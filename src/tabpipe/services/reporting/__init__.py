"""What people read: the model card, notebook rules, page headers, the status view."""
