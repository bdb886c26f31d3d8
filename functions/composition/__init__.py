"""What the API and worker roots share: the stores built from the settings, and the publishing services."""
