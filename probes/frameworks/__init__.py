"""Framework apps written the way each framework's users write them (see patterns.toml)."""
